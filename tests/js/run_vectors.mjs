// node run_vectors.mjs VECTORS_DIR: the verdict of verify.mjs on every golden vector, as JSON lines:
// against the manifest, and for por-v2 and por-v3 also against the announced value alone (mode "announced");
// a mutation may carry its own manifest (`manifest`), else the shape's is used.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { verifyProof, VerificationError } from "../../pipeline/web/verify.mjs";

const dir = process.argv[2];
const load = (...p) => JSON.parse(readFileSync(join(dir, ...p), "utf8"));

function verdict(proof, manifest, announced) {
  try {
    const r = verifyProof(proof, manifest, announced);
    if (r.version === "por-v3") {
      return { valid: true, assets: r.assets, equity: r.equity.map(String), debt: r.debt.map(String),
        commitment: r.commitment, user_id: r.userId, period: r.period,
        roots: r.roots.map((t) => [t.hash, String(t.equity), String(t.debt)]) };
    }
    return { valid: true, balances: r.balances.map(String), root: r.rootHash, commitment: r.commitment };
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    return { valid: false, check: e.check, level: e.level };
  }
}

for (const shape of readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory()).sort()) {
  const manifest = load(shape, "manifest.json");
  const cases = [
    ...load(shape, "proofs.json").map((proof) => ({ name: `valid:${proof.user_id}`, proof })),
    ...load(shape, "mutations.json").map((m) => ({ name: m.name, proof: m.proof, own: m.manifest })),
  ];
  for (const { name, proof, own } of cases) {
    console.log(JSON.stringify({ shape, name, mode: "manifest", ...verdict(proof, own ?? manifest, null) }));
    if (manifest.commitment !== undefined) {
      console.log(JSON.stringify({ shape, name, mode: "announced", ...verdict(proof, null, manifest.commitment) }));
    }
  }
}
