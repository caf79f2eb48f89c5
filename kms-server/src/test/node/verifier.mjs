// A relying party for Keywarden's JWT signing keys tests: jose (a JOSE library nobody here wrote) verifies the
// tokens Keywarden signs, with the keys it publishes. One JSON request per line on standard input, one JSON answer
// per line on standard output, until standard input closes.
//
//   {"op":"remote","jwks":URL,"issuer":ISS,"audience":AUD?,"tolerance":S?,"tokens":[…]}
//        createRemoteJWKSet(URL) (one per URL, kept across requests, as a service keeps it) + jwtVerify per token
//   {"op":"snapshot","name":N,"jwks":URL}
//        fetches the JWKS once and keeps createLocalJWKSet(it) under N: a verifier that never fetches again
//        -> {"kids":[…],"cache_control":…}
//   {"op":"local","name":N,"issuer":ISS,"audience":AUD?,"tolerance":S?,"tokens":[…]}
//        jwtVerify per token with the snapshot N
// Every verify answers {"results":[{"ok":true,"kid":…,"alg":…,"payload":{…}} | {"ok":false,"code":…,"error":…}]}.
import crypto from 'node:crypto';
import readline from 'node:readline';
import * as jose from 'jose';

globalThis.crypto ??= crypto.webcrypto;

const remote = new Map(); // url -> createRemoteJWKSet
const local = new Map(); // name -> createLocalJWKSet

async function verifyAll(keys, { issuer, audience, tolerance, tokens }) {
  const results = [];
  for (const token of tokens) {
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, keys, {
        issuer,
        audience: audience ?? undefined,
        clockTolerance: tolerance ?? 0,
        requiredClaims: ['exp', 'iat'],
      });
      results.push({ ok: true, kid: protectedHeader.kid, alg: protectedHeader.alg, payload });
    } catch (e) {
      results.push({ ok: false, code: e.code ?? e.name, error: e.message });
    }
  }
  return { results };
}

async function handle(req) {
  switch (req.op) {
    case 'remote': {
      if (!remote.has(req.jwks)) {
        remote.set(req.jwks, jose.createRemoteJWKSet(new URL(req.jwks)));
      }
      return verifyAll(remote.get(req.jwks), req);
    }
    case 'snapshot': {
      const res = await fetch(req.jwks);
      if (res.status !== 200) {
        throw new Error(`GET ${req.jwks}: ${res.status}`);
      }
      const jwks = await res.json();
      local.set(req.name, jose.createLocalJWKSet(jwks));
      return { kids: jwks.keys.map((k) => k.kid), cache_control: res.headers.get('cache-control') };
    }
    case 'local':
      return verifyAll(local.get(req.name), req);
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  let answer;
  try {
    answer = await handle(JSON.parse(line));
  } catch (e) {
    answer = { failure: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
