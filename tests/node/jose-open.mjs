// Open a linkwork referral file with the Node `jose` package (an independent JOSE code base):
// decrypt the compact JWE with the recipient's private JWK, verify the inner compact JWS
// with the sender's public JWK, print the payload on stdout. Any failure: message on stderr, exit 1.
// usage: node jose-open.mjs FILE RECIPIENT_PRIVATE_JWK SENDER_PUBLIC_JWK
import { readFileSync } from "node:fs";
import { compactDecrypt, compactVerify, importJWK } from "jose";

const [file, recipientPath, senderPath] = process.argv.slice(2);
try {
  const token = readFileSync(file, "utf8").trim();
  const recipient = await importJWK(JSON.parse(readFileSync(recipientPath, "utf8")), "ECDH-ES+A256KW");
  const sender = await importJWK(JSON.parse(readFileSync(senderPath, "utf8")), "ES256");
  const { plaintext, protectedHeader: outer } = await compactDecrypt(token, recipient, {
    keyManagementAlgorithms: ["ECDH-ES+A256KW", "ECDH-ES"],
    contentEncryptionAlgorithms: ["A256GCM"],
  });
  const inner = new TextDecoder().decode(plaintext);
  const { payload, protectedHeader } = await compactVerify(inner, sender, { algorithms: ["ES256"] });
  process.stderr.write(JSON.stringify({ jwe: outer, jws: protectedHeader }) + "\n");
  process.stdout.write(new TextDecoder().decode(payload));
} catch (err) {
  process.stderr.write(`jose-open: ${err.code || err.name}: ${err.message}\n`);
  process.exit(1);
}
