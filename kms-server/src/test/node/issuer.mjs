// A workload issuer for Keywarden's JWT login tests: jose (a JOSE library nobody here wrote) makes the keys and
// signs the JWTs; a loopback-only HTTP server serves their JWKS and an OIDC discovery document, and takes
// test commands. Prints {"port": N} on its first line of standard output, then serves until standard input closes.
//
//   GET  /jwks                              the current public keys (counts fetches: GET /stats)
//   GET  /.well-known/openid-configuration  {issuer, jwks_uri}
//   POST /mint    {alg, claims, kid?, typ?}  a compact JWT signed by the current key of alg (kid overrides the
//                                            header's kid); alg "HS256" signs with a random secret, "none" makes
//                                            an unsecured JWT
//   POST /rotate  {alg}                     replaces the key of alg with a new one (new kid); the old one is gone
//   GET  /stats                             {"jwks_fetches": N}
import http from 'node:http';
import crypto from 'node:crypto';
import * as jose from 'jose';

// Node 18 (Debian 12's nodejs) has WebCrypto, but not yet as a global; jose looks for it there when it is called.
globalThis.crypto ??= crypto.webcrypto;

const ALGS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'];
const keys = new Map(); // alg -> {kid, privateKey, jwk}
let generation = 0;
let jwksFetches = 0;

async function newKey(alg) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const kid = `${alg}-${++generation}`;
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  keys.set(alg, { kid, privateKey, jwk });
}

for (const alg of ALGS) {
  await newKey(alg);
}

function unsecured(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
}

async function mint({ alg, claims, kid, typ }) {
  if (alg === 'none') {
    return unsecured(claims);
  }
  if (alg === 'HS256') {
    return new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(crypto.randomBytes(32));
  }
  const key = keys.get(alg);
  if (!key) {
    throw new Error(`unknown alg ${alg}`);
  }
  const header = { alg, kid: kid ?? key.kid };
  if (typ) {
    header.typ = typ;
  }
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
}

function body(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => { try { resolve(data ? JSON.parse(data) : {}); } catch (e) { reject(e); } });
  });
}

const server = http.createServer(async (req, res) => {
  const reply = (status, obj, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(typeof obj === 'string' ? obj : JSON.stringify(obj));
  };
  try {
    const base = `http://127.0.0.1:${server.address().port}`;
    if (req.method === 'GET' && req.url === '/jwks') {
      jwksFetches++;
      return reply(200, { keys: [...keys.values()].map((k) => k.jwk) });
    }
    if (req.method === 'GET' && req.url === '/.well-known/openid-configuration') {
      return reply(200, { issuer: base, jwks_uri: `${base}/jwks` });
    }
    if (req.method === 'GET' && req.url === '/stats') {
      return reply(200, { jwks_fetches: jwksFetches });
    }
    if (req.method === 'POST' && req.url === '/mint') {
      return reply(200, await mint(await body(req)), 'application/jwt');
    }
    if (req.method === 'POST' && req.url === '/rotate') {
      const { alg } = await body(req);
      await newKey(alg);
      return reply(200, { kid: keys.get(alg).kid });
    }
    return reply(404, { error: 'not found' });
  } catch (e) {
    return reply(500, { error: String(e) });
  }
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
