// Make a referral file with the Node `jose` package: sign PAYLOAD_FILE as a compact JWS
// (ES256) with the sender's private JWK, encrypt it as a compact JWE for the recipient's
// public JWK; print the JWE on stdout.
// usage: node jose-seal.mjs PAYLOAD_FILE SENDER_PRIVATE_JWK RECIPIENT_PUBLIC_JWK [ALG] [ENC]
import { readFileSync } from "node:fs";
import { CompactEncrypt, CompactSign, importJWK } from "jose";

const [file, senderPath, recipientPath, alg = "ECDH-ES+A256KW", enc = "A256GCM"] = process.argv.slice(2);
try {
  const payload = readFileSync(file);
  const senderJwk = JSON.parse(readFileSync(senderPath, "utf8"));
  const recipientJwk = JSON.parse(readFileSync(recipientPath, "utf8"));
  const sender = await importJWK(senderJwk, "ES256");
  const recipient = await importJWK(recipientJwk, alg);
  const jws = await new CompactSign(payload)
    .setProtectedHeader({ alg: "ES256", kid: senderJwk.kid, typ: "JOSE", cty: "fhir+json" })
    .sign(sender);
  const jwe = await new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg, enc, cty: "JOSE", kid: recipientJwk.kid })
    .encrypt(recipient);
  process.stdout.write(jwe + "\n");
} catch (err) {
  process.stderr.write(`jose-seal: ${err.code || err.name}: ${err.message}\n`);
  process.exit(1);
}
