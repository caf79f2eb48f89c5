/** The OpenSSH CA engine: CA keys in the HSM, roles, user and host certificates, revocation and KRLs. */
package dev.keywarden.ssh;
