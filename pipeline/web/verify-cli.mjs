#!/usr/bin/env node
// node verify-cli.mjs PROOF MANIFEST: exit 0 and a summary when the proof is valid against the
// published manifest, exit 1 and the failing check when not. Reads only local files.
import { readFileSync } from "node:fs";
import { toUnits, verifyProof, VerificationError } from "./verify.mjs";

function load(path, what) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    console.error(`INVALID proof: input: ${what} ${path}: ${e.message}`);
    process.exit(1);
  }
}

const [proofPath, manifestPath] = process.argv.slice(2);
if (!proofPath || !manifestPath) {
  console.error("usage: node verify-cli.mjs PROOF MANIFEST");
  process.exit(2);
}
try {
  const r = verifyProof(load(proofPath, "proof"), load(manifestPath, "manifest"));
  console.log(`VALID proof for user ${JSON.stringify(r.userId)} in period ${r.period}`);
  console.log(`root ${r.rootHash}`);
  r.assets.forEach((symbol, i) => console.log(`  ${symbol.padEnd(8)} ${toUnits(r.balances[i], r.decimals[i])}`));
} catch (e) {
  if (!(e instanceof VerificationError)) throw e;
  console.error(`INVALID proof: ${e.message}`);
  process.exit(1);
}
