// node differential.mjs CASES.jsonl: for each case (proof and manifest as base64 bytes, or an announced
// value, an optional user id and an optional `signed` = {signature: the signature.json document,
// public_key: PEM}), the verdict of the strict reader and verify.mjs, as JSON lines. The order is the
// Node CLI's: read the proof, read the manifest, check the manifest's signature, verify the proof.
import { readFileSync } from "node:fs";
import {
  parseDocument, publicKeyFromPem, verifyManifestSignature, verifyProof, VerificationError,
} from "../../pipeline/web/verify.mjs";

const bytes = (b64) => new Uint8Array(Buffer.from(b64, "base64"));
for (const line of readFileSync(process.argv[2], "utf8").split("\n")) {
  if (!line) continue;
  const c = JSON.parse(line);
  let verdict;
  try {
    const proof = parseDocument(bytes(c.proof), "proof");
    const manifest = c.manifest === null ? null : parseDocument(bytes(c.manifest), "manifest");
    if (c.signed) await verifyManifestSignature(manifest, c.signed.signature, publicKeyFromPem(c.signed.public_key));
    verifyProof(proof, manifest, c.announced, () => {}, c.user);
    verdict = { valid: true };
  } catch (e) {
    if (!(e instanceof VerificationError)) {
      verdict = { valid: false, check: `crash:${e.name}`, message: String(e.message).slice(0, 200) };
    } else verdict = { valid: false, check: e.check };
  }
  console.log(JSON.stringify({ id: c.id, ...verdict }));
}
