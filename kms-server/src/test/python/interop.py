"""A Python service calling Keywarden as any grpcio user would, with stubs that Debian's protoc and grpc_python_plugin
generated from the protos (Keywarden's, google/rpc's status and error details, grpc's health and reflection v1).

Every service gets at least one real call. Usage: interop.py CONFIG STUBS... where CONFIG is a JSON file (addr, token,
http, prefix, csr_pem, ssh_public_key, audit_path) and STUBS the directories holding the generated modules. Output:
one JSON line per step, {"step": NAME, ...values}; a failure prints {"step": "failure", "error": ...} and exits 1.
InteropIT asserts on the values (the same steps as interop.mjs, Node's twin of this client).
"""
import json
import sys
import traceback
import urllib.request

config = json.load(open(sys.argv[1], encoding="utf-8"))
sys.path[:0] = sys.argv[2:]

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, duration_pb2, json_format, struct_pb2  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402
import health_pb2  # noqa: E402  (grpc/health/v1/health.proto, generated from its own directory: see InteropIT)
import health_pb2_grpc  # noqa: E402
import reflection_pb2  # noqa: E402  (grpc/reflection/v1/reflection.proto, likewise)
import reflection_pb2_grpc  # noqa: E402
from keywarden.v1 import (  # noqa: E402
    audit_pb2, audit_pb2_grpc, auth_cert_pb2, auth_cert_pb2_grpc, auth_jwt_pb2, auth_jwt_pb2_grpc, jwt_pb2,
    jwt_pb2_grpc, pki_pb2, pki_pb2_grpc, policy_pb2, policy_pb2_grpc, ssh_pb2, ssh_pb2_grpc, system_pb2,
    system_pb2_grpc, token_pb2, token_pb2_grpc, transit_pb2, transit_pb2_grpc)

prefix = config["prefix"]


def emit(step, **values):
    print(json.dumps({"step": step, **values}), flush=True)


def bearer(token):
    """Keywarden takes the token as a bearer credential in the call's metadata."""
    return (("authorization", "Bearer " + token),)


root = bearer(config["token"])


def failure(method, request, metadata=root):
    """The grpc.RpcError a call fails with (the call must fail)."""
    try:
        method(request, metadata=metadata)
    except grpc.RpcError as e:
        return e
    raise AssertionError(f"{method} succeeded but was expected to fail")


def details(error):
    """The error's google.rpc.Status (from the grpc-status-details-bin trailer), each Any unpacked."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            unpacked = []
            for any_detail in status.details:
                if any_detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    any_detail.Unpack(info)
                    unpacked.append({"type": "google.rpc.ErrorInfo", "reason": info.reason, "domain": info.domain})
                else:
                    unpacked.append({"type": any_detail.TypeName()})
            return {"code": status.code, "message": status.message, "details": unpacked}
    return None


def seconds(s):
    return duration_pb2.Duration(seconds=s)


def item_error(e):
    return {"code": e.code, "message": e.message, "status_code": e.status_code, "reason": e.reason}


channel = grpc.insecure_channel(config["addr"])
system = system_pb2_grpc.SystemServiceStub(channel)
tokens = token_pb2_grpc.TokenServiceStub(channel)
policies = policy_pb2_grpc.PolicyServiceStub(channel)
transit = transit_pb2_grpc.TransitServiceStub(channel)
pki = pki_pb2_grpc.PkiServiceStub(channel)
ssh = ssh_pb2_grpc.SshServiceStub(channel)
jwt = jwt_pb2_grpc.JwtServiceStub(channel)
cert_auth = auth_cert_pb2_grpc.CertAuthServiceStub(channel)
jwt_auth = auth_jwt_pb2_grpc.JwtAuthServiceStub(channel)
audit = audit_pb2_grpc.AuditServiceStub(channel)
health = health_pb2_grpc.HealthStub(channel)
reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
T = transit_pb2


def main():
    # ---- system and health ----
    status = system.GetStatus(system_pb2.GetStatusRequest())
    emit("status", initialized=status.initialized, sealed=status.sealed, hsm_kind=status.hsm_kind)

    services = [""] + [s.full_name for m in (system_pb2, token_pb2, policy_pb2, transit_pb2, pki_pb2, ssh_pb2, jwt_pb2,
                                              auth_cert_pb2, auth_jwt_pb2, audit_pb2)
                       for s in m.DESCRIPTOR.services_by_name.values()]
    serving = {s: health_pb2.HealthCheckResponse.ServingStatus.Name(
        health.Check(health_pb2.HealthCheckRequest(service=s)).status) for s in services}
    unknown = failure(health.Check, health_pb2.HealthCheckRequest(service="no.such.Service"), ())
    emit("health", serving=serving, unknown_service=unknown.code().name)

    # ---- reflection v1: the services, and the file that declares TransitService ----
    answers = list(reflection.ServerReflectionInfo(iter([
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="keywarden.v1.TransitService")])))
    files = [descriptor_pb2.FileDescriptorProto.FromString(b)
             for b in answers[1].file_descriptor_response.file_descriptor_proto]
    transit_file = next(f for f in files if any(s.name == "TransitService" for s in f.service))
    emit("reflection", services=sorted(s.name for s in answers[0].list_services_response.service),
         transit_file=transit_file.name,
         transit_methods=[m.name for s in transit_file.service if s.name == "TransitService" for m in s.method])

    # ---- policy and token ----
    policy_name = f"{prefix}-encrypt-only"
    document = json.dumps({"rules": [{"resource": f"transit/keys/{prefix}-orders", "capabilities": ["encrypt"]}]})
    policies.WritePolicy(policy_pb2.WritePolicyRequest(name=policy_name, document=document), metadata=root)
    read_back = policies.ReadPolicy(policy_pb2.ReadPolicyRequest(name=policy_name), metadata=root)
    listed = policies.ListPolicies(policy_pb2.ListPoliciesRequest(), metadata=root)
    emit("policy", name=read_back.name, document=json.loads(read_back.document), listed=policy_name in listed.names)

    created = tokens.CreateToken(token_pb2.CreateTokenRequest(policies=[policy_name], display_name=f"{prefix}-app",
                                                              ttl=seconds(3600)), metadata=root)
    looked = tokens.LookupToken(token_pb2.LookupTokenRequest(token=created.token), metadata=root)

    # ---- transit ----
    key_name = f"{prefix}-orders"
    key = transit.CreateKey(T.CreateKeyRequest(name=key_name), metadata=root).key
    context = b"order-7"
    encrypted = transit.Encrypt(T.EncryptRequest(name=key_name, items=[
        T.EncryptItem(plaintext=b"card 4111", context=context),
        T.EncryptItem(plaintext=b"card 5500", context=context)]), metadata=root)
    ciphertexts = [r.ciphertext for r in encrypted.results]
    decrypted = transit.Decrypt(T.DecryptRequest(name=key_name, items=[
        T.DecryptItem(ciphertext=ciphertexts[1], context=context),
        T.DecryptItem(ciphertext="kw:v1:AAAA", context=context),
        T.DecryptItem(ciphertext=ciphertexts[0], context=context)]), metadata=root)
    rotated = transit.RotateKey(T.RotateKeyRequest(name=key_name), metadata=root).key
    after_rotation = transit.Encrypt(T.EncryptRequest(name=key_name, items=[
        T.EncryptItem(plaintext=b"x", context=context)]), metadata=root).results[0].ciphertext
    rewrapped = transit.Rewrap(T.RewrapRequest(name=key_name, items=[
        T.DecryptItem(ciphertext=ciphertexts[0], context=context)]), metadata=root).results[0].ciphertext
    data_key = transit.GenerateDataKey(T.GenerateDataKeyRequest(name=key_name, bits=256), metadata=root)
    unwrapped = transit.Decrypt(T.DecryptRequest(name=key_name, items=[
        T.DecryptItem(ciphertext=data_key.ciphertext)]), metadata=root).results[0].plaintext
    emit("transit", type=key.type, ciphertext_prefixes=[c[:6] for c in ciphertexts],
         decrypted=[r.plaintext.decode() if r.WhichOneof("result") == "plaintext" else item_error(r.error)
                    for r in decrypted.results],
         latest_version_after_rotation=rotated.latest_version, encrypt_after_rotation_prefix=after_rotation[:6],
         rewrapped_prefix=rewrapped[:6], data_key_bytes=len(data_key.plaintext),
         data_key_round_trip=data_key.plaintext == unwrapped)

    signer = f"{prefix}-signer"
    transit.CreateKey(T.CreateKeyRequest(name=signer, type="ed25519"), metadata=root)
    signature = transit.Sign(T.SignRequest(name=signer, items=[T.SignItem(input=b"release 1.2")]),
                             metadata=root).results[0].signature
    verified = transit.Verify(T.VerifyRequest(name=signer, items=[
        T.VerifyItem(input=b"release 1.2", signature=signature),
        T.VerifyItem(input=b"release 1.3", signature=signature)]), metadata=root)
    emit("transit_sign", signature_prefix=signature[:6], server_verifies=[r.valid for r in verified.results])

    # The app token: its policy allows encrypt on the key, nothing else.
    app = bearer(created.token)
    app_ciphertext = transit.Encrypt(T.EncryptRequest(name=key_name, items=[T.EncryptItem(plaintext=b"from the app")]),
                                     metadata=app).results[0].ciphertext
    app_decrypt = failure(transit.Decrypt, T.DecryptRequest(name=key_name, items=[
        T.DecryptItem(ciphertext=app_ciphertext)]), app)
    revoked = tokens.RevokeToken(token_pb2.RevokeTokenRequest(accessor=created.info.accessor), metadata=root)
    after_revoke = failure(transit.Encrypt, T.EncryptRequest(name=key_name, items=[T.EncryptItem(plaintext=b"x")]), app)
    anonymous = failure(transit.ListKeys, T.ListKeysRequest(), ())
    emit("token", policies=list(looked.info.policies), display_name=looked.info.display_name,
         accessor_matches=looked.info.accessor == created.info.accessor,
         app_encrypts=app_ciphertext.startswith("kw:v"), app_decrypt=app_decrypt.code().name, revoked=revoked.revoked,
         after_revoke=after_revoke.code().name, anonymous=anonymous.code().name)

    # ---- errors with details ----
    missing = failure(transit.Encrypt, T.EncryptRequest(name=f"{prefix}-no-such-key",
                                                        items=[T.EncryptItem(plaintext=b"x")]))
    taken = failure(transit.CreateKey, T.CreateKeyRequest(name=key_name))
    emit("error_details", code=missing.code().name, message=missing.details(), status=details(missing),
         already_exists={"code": taken.code().name, "status": details(taken)})

    # ---- PKI: a root, a role, a CSR signed ----
    root_issuer = pki.GenerateRoot(pki_pb2.GenerateRootRequest(common_name=f"{prefix} Interop Root",
                                                               ttl=seconds(86400 * 30)), metadata=root).issuer
    role = pki.WriteRole(pki_pb2.WriteRoleRequest(name=f"{prefix}-web", role_json=json.dumps({
        "name": f"{prefix}-web", "allowed_domains": ["example.com"], "allow_subdomains": True, "server_flag": True,
        "ttl": "1h"})), metadata=root)
    signed = pki.SignCsr(pki_pb2.SignCsrRequest(role=f"{prefix}-web", csr_pem=config["csr_pem"],
                                                issuer_id=root_issuer.id), metadata=root)
    fetched = pki.GetCertificate(pki_pb2.GetCertificateRequest(serial=signed.serial), metadata=root)
    emit("pki", issuer_id=root_issuer.id, issuer_subject=root_issuer.subject,
         issuer_certificate_pem=root_issuer.certificate_pem,
         role_domains=json.loads(role.role_json)["allowed_domains"],
         roles_listed=f"{prefix}-web" in pki.ListRoles(pki_pb2.ListRolesRequest(), metadata=root).names,
         certificate_pem=signed.certificate_pem, issuer_id_matches=signed.issuer_id == root_issuer.id,
         fetched_serial_matches=fetched.serial == signed.serial)

    # ---- SSH: a user CA, a role, a public key signed ----
    ca_name = f"{prefix}-users"
    ca = ssh.CreateSshCa(ssh_pb2.CreateSshCaRequest(name=ca_name, key_type="ed25519"), metadata=root).ca
    ssh.WriteSshRole(ssh_pb2.WriteSshRoleRequest(role=ssh_pb2.SshRole(
        name=f"{prefix}-dev", cert_type=ssh_pb2.SSH_CERT_TYPE_USER, ca=ca_name, allowed_principals=["alice", "bob"],
        ttl=seconds(600), max_ttl=seconds(3600))), metadata=root)
    certificate = ssh.SignSshKey(ssh_pb2.SignSshKeyRequest(role=f"{prefix}-dev", public_key=config["ssh_public_key"],
                                                           principals=["alice"]), metadata=root).certificate
    ca_keys = ssh.GetSshCaKeys(ssh_pb2.GetSshCaKeysRequest(name=ca_name), metadata=root).text
    refused = failure(ssh.SignSshKey, ssh_pb2.SignSshKeyRequest(role=f"{prefix}-dev",
                                                                public_key=config["ssh_public_key"],
                                                                principals=["root"]))
    emit("ssh", ca_public_key=ca.keys[0].public_key, ca_keys_text_has_key=ca.keys[0].public_key.split(" ")[1] in ca_keys,
         certificate=certificate.certificate, principals=list(certificate.principals), key_id=certificate.key_id,
         cert_type=ssh_pb2.SshCertType.Name(certificate.cert_type),
         roles_listed=f"{prefix}-dev" in ssh.ListSshRoles(ssh_pb2.ListSshRolesRequest(), metadata=root).names,
         other_principal=refused.code().name)

    # ---- JWT: a signing key, a role, a token checked against the published JWKS ----
    jwt_key_name = f"{prefix}-tokens"
    issuer = f"{config['http']}/v1/jwt/{jwt_key_name}"
    jwt_key = jwt.CreateJwtKey(jwt_pb2.CreateJwtKeyRequest(config=jwt_pb2.JwtKeyConfig(
        name=jwt_key_name, algorithm=auth_jwt_pb2.JWT_ALGORITHM_ES256, issuer=issuer, publish_ahead=seconds(0))),
        metadata=root).key
    jwt.WriteJwtSigningRole(jwt_pb2.WriteJwtSigningRoleRequest(role=jwt_pb2.JwtSigningRole(
        name=f"{prefix}-svc", key=jwt_key_name, allowed_audiences=["payments"], allowed_subjects=["svc-*"],
        allowed_claims={"tier": jwt_pb2.JwtClaimGlobs(globs=["1", "2"])}, max_ttl=seconds(300))), metadata=root)
    items = []
    for tier in (2, 3):
        claims = struct_pb2.Struct()
        claims.update({"aud": "payments", "sub": "svc-orders", "tier": tier})
        items.append(jwt_pb2.SignJwtItem(claims=claims))
    results = jwt.SignJwt(jwt_pb2.SignJwtRequest(key=jwt_key_name, role=f"{prefix}-svc", ttl=seconds(120),
                                                 items=items), metadata=root).results
    token1 = results[0].jwt
    verified_jwt = jwt.VerifyJwt(jwt_pb2.VerifyJwtRequest(key=jwt_key_name, jwt=token1, audience="payments"),
                                 metadata=root)
    with urllib.request.urlopen(jwt_key.jwks_uri) as response:
        jwks = json.load(response)
    emit("jwt", jwks_uri=jwt_key.jwks_uri, active_kid=jwt_key.active_kid, jwks_kids=[k["kid"] for k in jwks["keys"]],
         second_item_error=item_error(results[1].error), server_valid=verified_jwt.valid, server_kid=verified_jwt.kid,
         server_claims=json_format.MessageToDict(verified_jwt.claims), jwt=token1)

    # ---- auth roles: a certificate role; a JWT role that trusts the key above, and a login through it ----
    cert_auth.WriteCertRole(auth_cert_pb2.WriteCertRoleRequest(role=auth_cert_pb2.CertRole(
        name=f"{prefix}-clients", trusted_issuer_ids=[root_issuer.id], allowed_common_names=["*.example.com"],
        policies=[policy_name], token_ttl=seconds(600))), metadata=root)
    cert_role = cert_auth.GetCertRole(auth_cert_pb2.GetCertRoleRequest(name=f"{prefix}-clients"), metadata=root).role
    jwt_auth.WriteJwtRole(auth_jwt_pb2.WriteJwtRoleRequest(name=f"{prefix}-workloads", role=auth_jwt_pb2.JwtRole(
        issuer=issuer, jwks_url=jwt_key.jwks_uri, bound_audiences=["payments"],
        allowed_algorithms=[auth_jwt_pb2.JWT_ALGORITHM_ES256], policies=[policy_name], token_ttl=seconds(600))),
        metadata=root)
    login = jwt_auth.Login(auth_jwt_pb2.JwtAuthServiceLoginRequest(role=f"{prefix}-workloads", jwt=token1))
    login_ciphertext = transit.Encrypt(T.EncryptRequest(name=key_name, items=[T.EncryptItem(plaintext=b"y")]),
                                       metadata=bearer(login.token)).results[0].ciphertext
    emit("auth",
         cert_roles_listed=f"{prefix}-clients" in cert_auth.ListCertRoles(auth_cert_pb2.ListCertRolesRequest(),
                                                                           metadata=root).names,
         cert_role_issuers=list(cert_role.trusted_issuer_ids),
         jwt_roles_listed=f"{prefix}-workloads" in jwt_auth.ListJwtRoles(auth_jwt_pb2.ListJwtRolesRequest(),
                                                                          metadata=root).names,
         jwt_role_key_source=jwt_auth.GetJwtRole(auth_jwt_pb2.GetJwtRoleRequest(name=f"{prefix}-workloads"),
                                                 metadata=root).role.WhichOneof("key_source"),
         login_policies=list(login.info.policies), login_encrypts=login_ciphertext.startswith("kw:v2:"))

    # ---- audit: a file device of this client's own ----
    device = audit.EnableAuditDevice(audit_pb2.EnableAuditDeviceRequest(
        name=f"{prefix}-file", file=audit_pb2.AuditFileDevice(path=config["audit_path"])), metadata=root).device
    hashed = audit.HashAuditValue(audit_pb2.HashAuditValueRequest(device=f"{prefix}-file", value=key_name.encode()),
                                  metadata=root)
    devices = audit.ListAuditDevices(audit_pb2.ListAuditDevicesRequest(), metadata=root).devices
    transit.Encrypt(T.EncryptRequest(name=key_name, items=[T.EncryptItem(plaintext=b"audited")]), metadata=root)
    audit.DisableAuditDevice(audit_pb2.DisableAuditDeviceRequest(name=f"{prefix}-file"), metadata=root)
    emit("audit", type=device.type, target=device.target, listed=any(d.name == f"{prefix}-file" for d in devices),
         hmac=hashed.hmac)


try:
    main()
except Exception as e:  # noqa: BLE001 -- one line the test shows, whatever went wrong
    code = e.code().name + " " + e.details() if isinstance(e, grpc.RpcError) else ""
    emit("failure", error=code + " " + traceback.format_exc())
    sys.exit(1)
