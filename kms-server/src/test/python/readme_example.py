# README's Python example: encrypt and decrypt with the transit key `orders`, then branch on an error's reason.
# The stubs come from protoc (see README); PYTHONPATH names their directory.
import os

import grpc
from google.rpc import error_details_pb2, status_pb2
from keywarden.v1 import transit_pb2 as transit, transit_pb2_grpc

stub = transit_pb2_grpc.TransitServiceStub(grpc.insecure_channel(os.environ["KEYWARDEN_ADDR"]))
auth = (("authorization", "Bearer " + os.environ["KEYWARDEN_TOKEN"]),)

sealed = stub.Encrypt(transit.EncryptRequest(name="orders", items=[
    transit.EncryptItem(plaintext=b"card 4111", context=b"order-7")]), metadata=auth).results[0]
opened = stub.Decrypt(transit.DecryptRequest(name="orders", items=[
    transit.DecryptItem(ciphertext=sealed.ciphertext, context=b"order-7")]), metadata=auth).results[0]
print(sealed.ciphertext[:6], opened.plaintext.decode())  # kw:v1: card 4111

# A failed call carries a google.rpc.Status in the grpc-status-details-bin trailer, with an ErrorInfo.
try:
    stub.Encrypt(transit.EncryptRequest(name="no-such-key", items=[transit.EncryptItem(plaintext=b"x")]),
                 metadata=auth)
except grpc.RpcError as err:
    status = status_pb2.Status.FromString(dict(err.trailing_metadata())["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    print(err.code().name, info.reason)  # NOT_FOUND KEY_NOT_FOUND
