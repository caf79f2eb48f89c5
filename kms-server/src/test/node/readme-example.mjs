// README's Node.js example: encrypt and decrypt with the transit key `orders`, then branch on an error's reason.
// KEYWARDEN_PROTOS lists the include directories (proto/src/main/proto and one holding google/rpc/*.proto).
import fs from 'node:fs';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const includeDirs = process.env.KEYWARDEN_PROTOS.split(':');
const definition = protoLoader.loadSync('keywarden/v1/transit.proto',
  { includeDirs, keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const { TransitService } = grpc.loadPackageDefinition(definition).keywarden.v1;
const transit = new TransitService(process.env.KEYWARDEN_ADDR, grpc.credentials.createInsecure());
const auth = new grpc.Metadata();
auth.set('authorization', `Bearer ${process.env.KEYWARDEN_TOKEN}`);
const call = (method, request) => new Promise((resolve, reject) =>
  transit[method](request, auth, (err, response) => (err ? reject(err) : resolve(response))));

const context = Buffer.from('order-7');
const [sealed] = (await call('Encrypt', { name: 'orders', items: [{ plaintext: Buffer.from('card 4111'), context }] }))
  .results;
const [opened] = (await call('Decrypt', { name: 'orders', items: [{ ciphertext: sealed.ciphertext, context }] }))
  .results;
console.log(sealed.ciphertext.slice(0, 6), opened.plaintext.toString()); // kw:v1: card 4111

// A failed call carries a google.rpc.Status in the grpc-status-details-bin trailer, with an ErrorInfo.
const rpc = new protobuf.Root();
rpc.resolvePath = (origin, target) => includeDirs.map((d) => `${d}/${target}`).find(fs.existsSync) ?? target;
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
try {
  await call('Encrypt', { name: 'no-such-key', items: [{ plaintext: Buffer.from('x') }] });
} catch (err) {
  const status = rpc.lookupType('google.rpc.Status').decode(err.metadata.get('grpc-status-details-bin')[0]);
  const info = rpc.lookupType('google.rpc.ErrorInfo').decode(status.details[0].value);
  console.log(grpc.status[err.code], info.reason); // NOT_FOUND KEY_NOT_FOUND
}
transit.close();
