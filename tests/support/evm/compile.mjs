// Compile one Solidity file with solc-js; print {abi, bytecode, selectors} of its contract as JSON.
import { readFileSync } from "node:fs";
import solc from "solc";

const [file, contract] = process.argv.slice(2);
const input = {
  language: "Solidity",
  sources: { [file]: { content: readFileSync(file, "utf8") } },
  settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.methodIdentifiers"] } } },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const c = out.contracts[file][contract];
console.log(JSON.stringify({ abi: c.abi, bytecode: c.evm.bytecode.object, selectors: c.evm.methodIdentifiers }));
