/** The JWT signing keys engine: named keys whose versions are published ahead in a JWKS, roles, signing, verifying. */
package dev.keywarden.jwt;
