// node blake3_vectors.mjs VECTORS.json: checks verify.mjs's BLAKE3 on the official test-vector
// recipe (input bytes i % 251, the official key and context, 131 bytes of extended output).
import { readFileSync } from "node:fs";
import { blake3, blake3Keyed, blake3DeriveKey, bytesToHex } from "../../pipeline/web/verify.mjs";

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
const key = new TextEncoder().encode(doc.key);
let failures = 0;
for (const c of doc.cases) {
  const input = Uint8Array.from({ length: c.input_len }, (_, i) => i % 251);
  const got = {
    hash: bytesToHex(blake3(input, c.hash.length / 2)),
    keyed_hash: bytesToHex(blake3Keyed(key, input, c.keyed_hash.length / 2)),
    derive_key: bytesToHex(blake3DeriveKey(doc.context_string, input, c.derive_key.length / 2)),
  };
  for (const mode of ["hash", "keyed_hash", "derive_key"]) {
    if (got[mode] !== c[mode]) {
      failures++;
      console.error(`input_len ${c.input_len} ${mode}: got ${got[mode]} want ${c[mode]}`);
    }
  }
}
console.log(`${doc.cases.length * 3 - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
