// A gRPC client that knows nothing of Keywarden's protos: grpc-js-reflection-client asks the server's reflection
// service (v1 or v1alpha, as argv[3] says) for the services and for SystemService's file and its imports, builds a
// stub from them and calls GetStatus. Prints one JSON object: {services, methods, status} or {failure}.
import grpc from '@grpc/grpc-js';
import { GrpcReflection } from 'grpc-js-reflection-client';

const [addr, version] = process.argv.slice(2);
const credentials = grpc.credentials.createInsecure();
try {
  const reflection = new GrpcReflection(addr, credentials, {}, version);
  const services = await reflection.listServices();
  const methods = (await reflection.listMethods('keywarden.v1.SystemService')).map((m) => m.name);
  const descriptor = await reflection.getDescriptorBySymbol('keywarden.v1.SystemService');
  const pkg = descriptor.getPackageObject({ keepCase: true, longs: String, enums: String, defaults: true });
  const system = new pkg.keywarden.v1.SystemService(addr, credentials);
  const status = await new Promise((resolve, reject) =>
    system.GetStatus({}, (err, response) => (err ? reject(err) : resolve(response))));
  system.close();
  console.log(JSON.stringify({ services, methods, status }));
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ failure: `${e.code ?? ''} ${e.message ?? e}` }));
  process.exit(1);
}
