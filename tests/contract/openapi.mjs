// openapi.mjs - validates gateway/openapi.json against the OpenAPI
// specification's JSON schema (3.1) with @seriousme/openapi-schema-validator,
// which also reports a $ref that does not resolve. That validator does not
// look inside Schema Objects, so each one is then checked against the JSON
// Schema 2020-12 meta-schema and compiled (its $refs followed) with Ajv, the
// validator's own dependency: a misspelt type or a bad pattern fails too.
//
//   node tests/contract/openapi.mjs [file]     (any working directory)
//
// Prints the result; exits 1 when the document is invalid, 2 when it cannot
// be read at all.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const addFormats = addFormatsModule.default ?? addFormatsModule;
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const DOC_ID = "https://agentos.invalid/openapi.json";

const here = dirname(fileURLToPath(import.meta.url));
const file = resolve(process.argv[2] ?? resolve(here, "../../gateway/openapi.json"));

// A JSON pointer fragment ("#/paths/~1users/get/...") from path segments.
const pointer = (segments) =>
	`#/${segments.map((s) => encodeURIComponent(s.replaceAll("~", "~0").replaceAll("/", "~1"))).join("/")}`;

// The JSON pointers of every Schema Object of the document: each entry of
// components.schemas and every "schema" of a parameter, header or media type.
function schemaPointers(spec) {
	const found = Object.keys(spec.components?.schemas ?? {}).map((name) =>
		pointer(["components", "schemas", name]),
	);
	const walk = (node, segments) => {
		if (node === null || typeof node !== "object") return;
		for (const [k, v] of Object.entries(node)) {
			const here = [...segments, k];
			if (k === "schema" && typeof v === "object") found.push(pointer(here));
			else if (here.join("/") !== "components/schemas") walk(v, here);
		}
	};
	walk(spec.paths, ["paths"]);
	walk(spec.components, ["components"]);
	return found;
}

const at = (spec, ptr) =>
	ptr
		.slice(2)
		.split("/")
		.map((s) => decodeURIComponent(s).replaceAll("~1", "/").replaceAll("~0", "~"))
		.reduce((node, key) => node?.[key], spec);

// Problems of the Schema Objects, as "pointer: message" lines.
function checkSchemas(spec) {
	const ajv = new Ajv2020({ strict: false, allErrors: true });
	const problems = [];

	addFormats(ajv);
	ajv.addSchema({ ...spec, $id: DOC_ID });
	for (const ptr of schemaPointers(spec)) {
		if (!ajv.validateSchema(at(spec, ptr)))
			problems.push(`${ptr}: ${ajv.errorsText(ajv.errors)}`);
		try {
			ajv.compile({ $ref: `${DOC_ID}${ptr}` });
		} catch (e) {
			problems.push(`${ptr}: ${e.message}`);
		}
	}
	return problems;
}

let spec;
try {
	spec = JSON.parse(await readFile(file, "utf8"));
} catch (e) {
	console.error(`${file}: cannot read it as JSON: ${e.message}`);
	process.exit(2);
}

const validator = new Validator();
const res = await validator.validate(spec);
if (!res.valid) {
	console.error(`${file}: INVALID against the OpenAPI ${validator.version} schema`);
	console.error(JSON.stringify(res.errors, null, 2));
	process.exit(1);
}

const problems = checkSchemas(spec);
if (problems.length > 0) {
	console.error(`${file}: ${problems.length} invalid Schema Object(s):`);
	for (const p of problems) console.error(`  ${p}`);
	process.exit(1);
}

const ops = Object.values(spec.paths ?? {}).flatMap((item) =>
	Object.keys(item).filter((k) => METHODS.includes(k)),
);
console.log(
	`${file}: valid OpenAPI ${validator.version} (${Object.keys(spec.paths ?? {}).length} paths, ` +
		`${ops.length} operations, ${Object.keys(spec.components?.schemas ?? {}).length} schemas); ` +
		"every Schema Object valid JSON Schema 2020-12",
);
