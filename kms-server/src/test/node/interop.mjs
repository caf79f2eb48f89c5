// A Node.js service calling Keywarden as any grpc-js user would: @grpc/proto-loader reads the protos at run time
// (Keywarden's, grpc's health and reflection v1, google/rpc's status and error details), and every service gets at
// least one real call. Input: one JSON file (argv[2]) with addr, token, http, prefix, protos (include directories),
// csr_pem, ssh_public_key and audit_path. Output: one JSON line per step, {"step": NAME, ...values}; a failure prints
// {"step":"failure", "error": …} and exits 1. InteropIT asserts on the values.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { createLocalJWKSet, jwtVerify } from 'jose';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { addr, token, prefix } = config;
const includeDirs = config.protos;

function emit(step, values) {
  console.log(JSON.stringify({ step, ...values }));
}

// ---- stubs from the protos ----
const keywardenProtos = fs.readdirSync(path.join(includeDirs[0], 'keywarden/v1'))
  .filter((f) => f.endsWith('.proto')).map((f) => `keywarden/v1/${f}`);
const definition = protoLoader.loadSync(
  [...keywardenProtos, 'grpc/health/v1/health.proto', 'grpc/reflection/v1/reflection.proto'],
  { includeDirs, keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const loaded = grpc.loadPackageDefinition(definition);
const v1 = loaded.keywarden.v1;
const insecure = grpc.credentials.createInsecure();
const client = (Service) => new Service(addr, insecure);
const system = client(v1.SystemService);
const tokens = client(v1.TokenService);
const policies = client(v1.PolicyService);
const transit = client(v1.TransitService);
const pki = client(v1.PkiService);
const ssh = client(v1.SshService);
const jwt = client(v1.JwtService);
const certAuth = client(v1.CertAuthService);
const jwtAuth = client(v1.JwtAuthService);
const audit = client(v1.AuditService);
const health = client(loaded.grpc.health.v1.Health);
const reflection = client(loaded.grpc.reflection.v1.ServerReflection);

// Keywarden takes the token as a bearer credential in the call's metadata.
function bearer(t) {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${t}`);
  return md;
}
const root = bearer(token);

/** A unary call as a promise. */
function call(stub, method, request, metadata = root) {
  return new Promise((resolve, reject) =>
    stub[method](request, metadata, (err, response) => (err ? reject(err) : resolve(response))));
}

/** The gRPC error a call fails with (the call must fail). */
async function failure(stub, method, request, metadata = root) {
  try {
    await call(stub, method, request, metadata);
  } catch (e) {
    return e;
  }
  throw new Error(`${method} succeeded but was expected to fail`);
}

// ---- google.rpc.Status from the grpc-status-details-bin trailer ----
const rpcRoot = new protobuf.Root();
rpcRoot.resolvePath = (origin, target) => {
  for (const dir of includeDirs) {
    const candidate = path.join(dir, target);
    if (fs.existsSync(candidate)) return candidate;
  }
  return target; // google/protobuf/*: protobufjs has them built in
};
rpcRoot.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const RpcStatus = rpcRoot.lookupType('google.rpc.Status');

/** The error's details: google.rpc.Status with each Any unpacked to {type, ...fields}. */
function details(err) {
  const [bin] = err.metadata.get('grpc-status-details-bin');
  if (!bin) return null;
  const status = RpcStatus.decode(bin);
  return {
    code: status.code,
    message: status.message,
    details: status.details.map((any) => {
      const type = any.type_url.substring(any.type_url.lastIndexOf('/') + 1);
      return { type, ...rpcRoot.lookupType(type).toObject(rpcRoot.lookupType(type).decode(any.value)) };
    }),
  };
}

// ---- google.protobuf.Struct as proto-loader represents it ----
function toValue(v) {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  switch (typeof v) {
    case 'number': return { numberValue: v };
    case 'string': return { stringValue: v };
    case 'boolean': return { boolValue: v };
    default: return { structValue: toStruct(v) };
  }
}
function toStruct(o) {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toValue(v)])) };
}
function fromValue(v) {
  switch (v.kind) {
    case 'nullValue': return null;
    case 'listValue': return v.listValue.values.map(fromValue);
    case 'structValue': return fromStruct(v.structValue);
    default: return v[v.kind];
  }
}
function fromStruct(s) {
  return Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [k, fromValue(v)]));
}

const seconds = (s) => ({ seconds: String(s), nanos: 0 });

try {
  // ---- system and health ----
  const status = await call(system, 'GetStatus', {});
  emit('status', { initialized: status.initialized, sealed: status.sealed, hsm_kind: status.hsm_kind });

  const serving = {};
  for (const service of ['', ...Object.keys(v1).filter((n) => n.endsWith('Service')).map((n) => `keywarden.v1.${n}`)]) {
    serving[service] = (await call(health, 'Check', { service }, new grpc.Metadata())).status;
  }
  const unknownHealth = await failure(health, 'Check', { service: 'no.such.Service' }, new grpc.Metadata());
  emit('health', { serving, unknown_service: grpc.status[unknownHealth.code] });

  // ---- reflection v1: the services, and the file that declares TransitService ----
  const answers = await new Promise((resolve, reject) => {
    const got = [];
    const stream = reflection.ServerReflectionInfo();
    stream.on('data', (r) => got.push(r));
    stream.on('error', reject);
    stream.on('end', () => resolve(got));
    stream.write({ list_services: '' });
    stream.write({ file_containing_symbol: 'keywarden.v1.TransitService' });
    stream.end();
  });
  const require = createRequire(import.meta.url);
  const FileDescriptorProto = protobuf.Root.fromJSON(require('protobufjs/google/protobuf/descriptor.json'))
    .lookupType('google.protobuf.FileDescriptorProto');
  const files = answers[1].file_descriptor_response.file_descriptor_proto.map((b) => FileDescriptorProto.decode(b));
  const transitFile = files.find((f) => f.service.some((s) => s.name === 'TransitService'));
  emit('reflection', {
    services: answers[0].list_services_response.service.map((s) => s.name).sort(),
    transit_file: transitFile.name,
    transit_methods: transitFile.service.find((s) => s.name === 'TransitService').method.map((m) => m.name),
  });

  // ---- policy and token ----
  const policyName = `${prefix}-encrypt-only`;
  const document = JSON.stringify(
    { rules: [{ resource: `transit/keys/${prefix}-orders`, capabilities: ['encrypt'] }] });
  await call(policies, 'WritePolicy', { name: policyName, document });
  const readBack = await call(policies, 'ReadPolicy', { name: policyName });
  const listed = await call(policies, 'ListPolicies', {});
  emit('policy',
    { name: readBack.name, document: JSON.parse(readBack.document), listed: listed.names.includes(policyName) });

  const created = await call(tokens, 'CreateToken',
    { policies: [policyName], display_name: `${prefix}-app`, ttl: seconds(3600) });
  const looked = await call(tokens, 'LookupToken', { token: created.token });

  // ---- transit ----
  const keyName = `${prefix}-orders`;
  const key = (await call(transit, 'CreateKey', { name: keyName })).key;
  const context = Buffer.from('order-7');
  const encrypted = await call(transit, 'Encrypt', { name: keyName, items: [
    { plaintext: Buffer.from('card 4111'), context }, { plaintext: Buffer.from('card 5500'), context }] });
  const ciphertexts = encrypted.results.map((r) => r.ciphertext);
  const decrypted = await call(transit, 'Decrypt', { name: keyName, items: [
    { ciphertext: ciphertexts[1], context }, { ciphertext: 'kw:v1:AAAA', context },
    { ciphertext: ciphertexts[0], context }] });
  const rotated = (await call(transit, 'RotateKey', { name: keyName })).key;
  const afterRotation = (await call(transit, 'Encrypt',
    { name: keyName, items: [{ plaintext: Buffer.from('x'), context }] })).results[0].ciphertext;
  const rewrapped = (await call(transit, 'Rewrap', { name: keyName, items: [{ ciphertext: ciphertexts[0], context }] }))
    .results[0].ciphertext;
  const dataKey = await call(transit, 'GenerateDataKey', { name: keyName, bits: 256 });
  const unwrapped = (await call(transit, 'Decrypt', { name: keyName, items: [{ ciphertext: dataKey.ciphertext }] }))
    .results[0].plaintext;
  emit('transit', {
    type: key.type,
    ciphertext_prefixes: ciphertexts.map((c) => c.substring(0, 6)),
    decrypted: decrypted.results.map((r) => (r.result === 'plaintext' ? r.plaintext.toString() : r.error)),
    latest_version_after_rotation: rotated.latest_version,
    encrypt_after_rotation_prefix: afterRotation.substring(0, 6),
    rewrapped_prefix: rewrapped.substring(0, 6),
    data_key_bytes: dataKey.plaintext.length,
    data_key_round_trip: Buffer.compare(dataKey.plaintext, unwrapped) === 0,
  });

  // Ed25519 signatures that node's own crypto verifies with the key's published public key.
  const signer = `${prefix}-signer`;
  const signingKey = (await call(transit, 'CreateKey', { name: signer, type: 'ed25519' })).key;
  const message = Buffer.from('release 1.2');
  const signature = (await call(transit, 'Sign', { name: signer, items: [{ input: message }] })).results[0].signature;
  const raw = Buffer.from(signature.substring(signature.indexOf(':', 3) + 1), 'base64');
  const publicKey = crypto.createPublicKey(signingKey.versions[0].public_key_pem);
  const verified = await call(transit, 'Verify', { name: signer, items: [
    { input: message, signature }, { input: Buffer.from('release 1.3'), signature }] });
  emit('transit_sign', {
    signature_prefix: signature.substring(0, 6),
    node_crypto_verifies: crypto.verify(null, message, publicKey, raw),
    node_crypto_rejects_other_input: !crypto.verify(null, Buffer.from('release 1.3'), publicKey, raw),
    server_verifies: verified.results.map((r) => r.valid),
  });

  // The app token: its policy allows encrypt on the key, nothing else.
  const app = bearer(created.token);
  const appCiphertext = (await call(transit, 'Encrypt',
    { name: keyName, items: [{ plaintext: Buffer.from('from the app') }] }, app)).results[0].ciphertext;
  const appDecrypt = await failure(transit, 'Decrypt', { name: keyName, items: [{ ciphertext: appCiphertext }] }, app);
  const revoked = await call(tokens, 'RevokeToken', { accessor: created.info.accessor });
  const afterRevoke = await failure(transit, 'Encrypt',
    { name: keyName, items: [{ plaintext: Buffer.from('x') }] }, app);
  const anonymous = await failure(transit, 'ListKeys', {}, new grpc.Metadata());
  emit('token', {
    policies: looked.info.policies,
    display_name: looked.info.display_name,
    accessor_matches: looked.info.accessor === created.info.accessor,
    app_encrypts: appCiphertext.startsWith('kw:v'),
    app_decrypt: grpc.status[appDecrypt.code],
    revoked: revoked.revoked,
    after_revoke: grpc.status[afterRevoke.code],
    anonymous: grpc.status[anonymous.code],
  });

  // ---- errors with details ----
  const missing = await failure(transit, 'Encrypt',
    { name: `${prefix}-no-such-key`, items: [{ plaintext: Buffer.from('x') }] });
  const badName = await failure(transit, 'CreateKey', { name: keyName });
  emit('error_details', {
    code: grpc.status[missing.code],
    message: missing.details,
    status: details(missing),
    already_exists: { code: grpc.status[badName.code], status: details(badName) },
  });

  // ---- PKI: a root, a role, a CSR signed ----
  const rootIssuer = (await call(pki, 'GenerateRoot',
    { common_name: `${prefix} Interop Root`, ttl: seconds(86400 * 30) })).issuer;
  const role = (await call(pki, 'WriteRole', { name: `${prefix}-web`, role_json: JSON.stringify({
    name: `${prefix}-web`, allowed_domains: ['example.com'], allow_subdomains: true, server_flag: true,
    ttl: '1h' }) }));
  const signed = await call(pki, 'SignCsr',
    { role: `${prefix}-web`, csr_pem: config.csr_pem, issuer_id: rootIssuer.id });
  const certificate = new crypto.X509Certificate(signed.certificate_pem);
  const rootCertificate = new crypto.X509Certificate(rootIssuer.certificate_pem);
  const fetched = await call(pki, 'GetCertificate', { serial: signed.serial });
  emit('pki', {
    issuer_id: rootIssuer.id,
    issuer_subject: rootIssuer.subject,
    issuer_certificate_pem: rootIssuer.certificate_pem,
    role_domains: JSON.parse(role.role_json).allowed_domains,
    roles_listed: (await call(pki, 'ListRoles', {})).names.includes(`${prefix}-web`),
    certificate_pem: signed.certificate_pem,
    subject: certificate.subject,
    subject_alt_name: certificate.subjectAltName,
    node_crypto_verifies_with_root: certificate.verify(rootCertificate.publicKey),
    issuer_id_matches: signed.issuer_id === rootIssuer.id,
    fetched_serial_matches: fetched.serial === signed.serial,
  });

  // ---- SSH: a user CA, a role, a public key signed ----
  const caName = `${prefix}-users`;
  const ca = (await call(ssh, 'CreateSshCa', { name: caName, key_type: 'ed25519' })).ca;
  await call(ssh, 'WriteSshRole', { role: { name: `${prefix}-dev`, cert_type: 'SSH_CERT_TYPE_USER', ca: caName,
    allowed_principals: ['alice', 'bob'], ttl: seconds(600), max_ttl: seconds(3600) } });
  const sshCert = (await call(ssh, 'SignSshKey', { role: `${prefix}-dev`, public_key: config.ssh_public_key,
    principals: ['alice'] })).certificate;
  const caKeys = (await call(ssh, 'GetSshCaKeys', { name: caName })).text;
  const refused = await failure(ssh, 'SignSshKey', { role: `${prefix}-dev`, public_key: config.ssh_public_key,
    principals: ['root'] });
  emit('ssh', {
    ca_public_key: ca.keys[0].public_key,
    ca_keys_text_has_key: caKeys.includes(ca.keys[0].public_key.split(' ')[1]),
    certificate: sshCert.certificate,
    principals: sshCert.principals,
    key_id: sshCert.key_id,
    cert_type: sshCert.cert_type,
    roles_listed: (await call(ssh, 'ListSshRoles', {})).names.includes(`${prefix}-dev`),
    other_principal: grpc.status[refused.code],
  });

  // ---- JWT: a signing key, a role, a token that jose verifies through the published JWKS ----
  const jwtKeyName = `${prefix}-tokens`;
  const issuer = `${config.http}/v1/jwt/${jwtKeyName}`;
  const jwtKey = (await call(jwt, 'CreateJwtKey', { config: { name: jwtKeyName, algorithm: 'JWT_ALGORITHM_ES256',
    issuer, publish_ahead: seconds(0) } })).key;
  await call(jwt, 'WriteJwtSigningRole', { role: { name: `${prefix}-svc`, key: jwtKeyName,
    allowed_audiences: ['payments'], allowed_subjects: ['svc-*'], allowed_claims: { tier: { globs: ['1', '2'] } },
    max_ttl: seconds(300) } });
  const signedJwts = (await call(jwt, 'SignJwt', { key: jwtKeyName, role: `${prefix}-svc`, ttl: seconds(120), items: [
    { claims: toStruct({ aud: 'payments', sub: 'svc-orders', tier: 2 }) },
    { claims: toStruct({ aud: 'payments', sub: 'svc-orders', tier: 3 }) }] })).results;
  const token1 = signedJwts[0].jwt;
  const verifiedByServer = await call(jwt, 'VerifyJwt', { key: jwtKeyName, jwt: token1, audience: 'payments' });
  const jwks = await (await fetch(jwtKey.jwks_uri)).json();
  const { payload, protectedHeader } = await jwtVerify(token1, createLocalJWKSet(jwks),
    { issuer, audience: 'payments' });
  emit('jwt', {
    jwks_uri: jwtKey.jwks_uri,
    active_kid: jwtKey.active_kid,
    jwks_kids: jwks.keys.map((k) => k.kid),
    second_item_error: signedJwts[1].error,
    server_valid: verifiedByServer.valid,
    server_kid: verifiedByServer.kid,
    server_claims: fromStruct(verifiedByServer.claims),
    jose_alg: protectedHeader.alg,
    jose_kid: protectedHeader.kid,
    jose_sub: payload.sub,
    jose_tier: payload.tier,
    jwt: token1,
  });

  // ---- auth roles: a certificate role; a JWT role that trusts the key above, and a login through it ----
  await call(certAuth, 'WriteCertRole', { role: { name: `${prefix}-clients`, trusted_issuer_ids: [rootIssuer.id],
    allowed_common_names: ['*.example.com'], policies: [policyName], token_ttl: seconds(600) } });
  const certRole = (await call(certAuth, 'GetCertRole', { name: `${prefix}-clients` })).role;
  await call(jwtAuth, 'WriteJwtRole', { name: `${prefix}-workloads`, role: { issuer, jwks_url: jwtKey.jwks_uri,
    bound_audiences: ['payments'], allowed_algorithms: ['JWT_ALGORITHM_ES256'], policies: [policyName],
    token_ttl: seconds(600) } });
  const login = await call(jwtAuth, 'Login', { role: `${prefix}-workloads`, jwt: token1 }, new grpc.Metadata());
  emit('auth', {
    cert_roles_listed: (await call(certAuth, 'ListCertRoles', {})).names.includes(`${prefix}-clients`),
    cert_role_issuers: certRole.trusted_issuer_ids,
    jwt_roles_listed: (await call(jwtAuth, 'ListJwtRoles', {})).names.includes(`${prefix}-workloads`),
    jwt_role_key_source: (await call(jwtAuth, 'GetJwtRole', { name: `${prefix}-workloads` })).role.key_source,
    login_policies: login.info.policies,
    login_encrypts: (await call(transit, 'Encrypt', { name: keyName, items: [{ plaintext: Buffer.from('y') }] },
      bearer(login.token))).results[0].ciphertext.startsWith('kw:v2:'),
  });

  // ---- audit: a file device of this client's own ----
  const device = (await call(audit, 'EnableAuditDevice',
    { name: `${prefix}-file`, file: { path: config.audit_path } })).device;
  const hashed = await call(audit, 'HashAuditValue', { device: `${prefix}-file`, value: Buffer.from(keyName) });
  const devices = (await call(audit, 'ListAuditDevices', {})).devices;
  await call(transit, 'Encrypt', { name: keyName, items: [{ plaintext: Buffer.from('audited') }] });
  await call(audit, 'DisableAuditDevice', { name: `${prefix}-file` });
  emit('audit', {
    type: device.type,
    target: device.target,
    listed: devices.some((d) => d.name === `${prefix}-file`),
    hmac: hashed.hmac,
  });
  process.exit(0);
} catch (e) {
  emit('failure', { error: `${e.code !== undefined ? grpc.status[e.code] : ''} ${e.details ?? ''} ${e.stack ?? e}` });
  process.exit(1);
}
