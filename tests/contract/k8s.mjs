// k8s.mjs - checks the Kubernetes manifests in deploy/k8s (or DIR).
//
//   node tests/contract/k8s.mjs [DIR]
//
// Every YAML document of every DIR/*.yaml (and *.yml) is parsed with `yaml`
// (duplicate keys and syntax errors are errors) and must be an object
// kubernetes-models knows: apiVersion and kind resolve to a model class (an
// unknown kind is an error), the model's JSON schema accepts it, and it has no
// field the schema does not declare (the API server's strict field validation
// would refuse it; the schemas alone let typos such as "readinesProbe" pass).
// kustomization.yaml is the one exception: it must list exactly the other files.
//
// Then the project's rules:
//  - no metadata.namespace (the namespace is given by kubectl -n);
//  - every Deployment: selector matching its pod labels; every container with
//    readiness and liveness probes, resource requests (cpu and memory) and a
//    memory limit, and a securityContext (its own or the pod's) with
//    runAsNonRoot true, runAsUser not 0, allowPrivilegeEscalation false and
//    readOnlyRootFilesystem true; probes on ports the container declares;
//  - every Service selects a Deployment's pods and targets its ports; a gRPC
//    port (named grpc) only on a headless Service (clusterIP: None), since
//    clients balance over the pod addresses themselves;
//  - ConfigMaps and Secrets referred to exist (unless optional);
//  - every HorizontalPodAutoscaler targets a Deployment that leaves replicas
//    unset (a value would reset the autoscaler on every apply).
//
// Prints one line per object: "ok ..." or a "FAIL ..." line per error (file,
// document, object, path); exits 0 with a summary, or 1.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import * as models from 'kubernetes-models';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(process.argv[2] || path.join(here, '..', '..', 'deploy', 'k8s'));
const KUSTOMIZATION = 'kustomization.yaml';

const errors = [];
let checked = 0;
let unparsed = false; /* a document that did not parse: its objects are unknown */

function fail(where, msg) {
	errors.push(`${where}: ${msg}`);
	console.error(`FAIL ${where}: ${msg}`);
}

// "networking.k8s.io" -> "networkingK8sIo", the key kubernetes-models exports.
function groupKey(group) {
	return group.replace(/\.([a-z0-9])/g, (_, c) => c.toUpperCase());
}

// The model class of a top-level object, or null. Nested types (Container,
// Probe, ...) have no static kind, so "kind: Container" is unknown too.
function modelFor(apiVersion, kind) {
	if (typeof apiVersion !== 'string' || typeof kind !== 'string')
		return null;
	const slash = apiVersion.indexOf('/');
	const group = slash < 0 ? null : apiVersion.slice(0, slash);
	const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
	const ns = group === null ? models[version] : models[groupKey(group)]?.[version];
	const cls = ns && Object.hasOwn(ns, kind) ? ns[kind] : null;
	return cls && cls.apiVersion === apiVersion && cls.kind === kind ? cls : null;
}

// A proxy over plain data recording which properties the schema validator
// reads ("/a/b") and which objects it enumerates (maps such as labels): the
// compiled validator reads every property its schema declares.
function tracked(value, ptr, seen) {
	if (value === null || typeof value !== 'object')
		return value;
	return new Proxy(value, {
		get(target, prop, receiver) {
			const v = Reflect.get(target, prop, receiver);
			if (typeof prop !== 'string' || !Object.hasOwn(target, prop))
				return v;
			seen.read.add(`${ptr}/${prop}`);
			return tracked(v, `${ptr}/${prop}`, seen);
		},
		ownKeys(target) {
			seen.enumerated.add(ptr);
			return Reflect.ownKeys(target);
		},
	});
}

// Properties present in the data that the validator never looked at.
function unknownFields(value, ptr, seen, out) {
	if (value === null || typeof value !== 'object')
		return out;
	for (const [k, v] of Object.entries(value)) {
		const p = `${ptr}/${k}`;
		if (!Array.isArray(value) && !seen.enumerated.has(ptr) && !seen.read.has(p))
			out.push(p);
		else
			unknownFields(v, p, seen, out);
	}
	return out;
}

// Schema validation plus unknown fields. Returns true when valid.
function validateObject(where, cls, obj) {
	const seen = { read: new Set(), enumerated: new Set() };

	try {
		cls.prototype.validate.call(tracked(obj, '', seen));
	} catch (e) {
		const detail = Array.isArray(e.errors) && e.errors.length
			? e.errors.map((x) => `${x.instancePath || '/'} ${x.message}`).join('; ')
			: e.message;
		fail(where, `schema: ${detail}`);
		return false;
	}
	const unknown = unknownFields(obj, '', seen, []);
	for (const p of unknown)
		fail(where, `unknown field ${p}`);
	return unknown.length === 0;
}

function matches(selector, labels) {
	return Object.entries(selector || {}).every(([k, v]) => labels?.[k] === v);
}

function podContainers(spec) {
	return [...(spec?.initContainers || []), ...(spec?.containers || [])];
}

// The effective value of a security setting: the container's, else the pod's.
function effective(pod, c, key) {
	const own = c.securityContext?.[key];
	return own !== undefined ? own : pod.securityContext?.[key];
}

function probePort(probe) {
	return probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;
}

function checkProbes(where, c) {
	const ports = new Set();
	for (const p of c.ports || []) {
		ports.add(p.containerPort);
		if (p.name)
			ports.add(p.name);
	}
	for (const kind of ['readinessProbe', 'livenessProbe']) {
		if (!c[kind])
			fail(where, `container ${c.name}: no ${kind}`);
	}
	for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
		const probe = c[kind];
		if (!probe)
			continue;
		const port = probePort(probe);
		if (port === undefined)
			fail(where, `container ${c.name}: ${kind} has no grpc, httpGet or tcpSocket port`);
		else if (!ports.has(port))
			fail(where, `container ${c.name}: ${kind} port ${port} is not a declared container port`);
	}
}

function checkResources(where, c) {
	const r = c.resources || {};
	for (const res of ['cpu', 'memory']) {
		if (r.requests?.[res] === undefined)
			fail(where, `container ${c.name}: no resources.requests.${res}`);
	}
	if (r.limits?.memory === undefined)
		fail(where, `container ${c.name}: no resources.limits.memory`);
}

function checkSecurity(where, pod, c) {
	if (effective(pod, c, 'runAsNonRoot') !== true)
		fail(where, `container ${c.name}: runAsNonRoot is not true`);
	if (effective(pod, c, 'runAsUser') === 0)
		fail(where, `container ${c.name}: runAsUser is 0 (root)`);
	if (c.securityContext?.allowPrivilegeEscalation !== false)
		fail(where, `container ${c.name}: allowPrivilegeEscalation is not false`);
	if (c.securityContext?.readOnlyRootFilesystem !== true)
		fail(where, `container ${c.name}: readOnlyRootFilesystem is not true`);
	if (c.securityContext?.privileged === true)
		fail(where, `container ${c.name}: privileged`);
}

// ConfigMap and Secret names a pod spec needs (optional references excluded).
function references(pod) {
	const refs = [];
	for (const c of podContainers(pod)) {
		for (const e of c.envFrom || []) {
			if (e.configMapRef && !e.configMapRef.optional)
				refs.push(['ConfigMap', e.configMapRef.name]);
			if (e.secretRef && !e.secretRef.optional)
				refs.push(['Secret', e.secretRef.name]);
		}
		for (const e of c.env || []) {
			const f = e.valueFrom || {};
			if (f.configMapKeyRef && !f.configMapKeyRef.optional)
				refs.push(['ConfigMap', f.configMapKeyRef.name, f.configMapKeyRef.key]);
			if (f.secretKeyRef && !f.secretKeyRef.optional)
				refs.push(['Secret', f.secretKeyRef.name, f.secretKeyRef.key]);
		}
	}
	return refs;
}

function checkDeployment(where, d) {
	const pod = d.spec.template.spec || {};
	if (!matches(d.spec.selector?.matchLabels, d.spec.template.metadata?.labels))
		fail(where, 'spec.selector.matchLabels do not match the pod template labels');
	for (const c of podContainers(pod)) {
		checkSecurity(where, pod, c);
		if ((pod.initContainers || []).includes(c))
			continue;
		checkProbes(where, c);
		checkResources(where, c);
	}
}

function checkService(where, s, deployments) {
	const target = deployments.find((d) =>
		s.spec?.selector && matches(s.spec.selector, d.obj.spec?.template?.metadata?.labels));
	if (!target) {
		fail(where, 'its selector matches no Deployment in the set');
		return;
	}
	for (const p of s.spec.ports || []) {
		if (p.name === 'grpc' && s.spec.clusterIP !== 'None')
			fail(where, `gRPC port ${p.port} on a Service that is not headless (clusterIP: None)`);
	}
	if (!target.valid)
		return;
	const cports = target.obj.spec.template.spec.containers.flatMap((c) => c.ports || []);
	for (const p of s.spec.ports || []) {
		const t = p.targetPort ?? p.port;
		if (!cports.some((c) => c.name === t || c.containerPort === t))
			fail(where, `port ${p.name || p.port}: targetPort ${t} is no port of Deployment ${target.name}`);
	}
}

function checkCrossReferences(objects) {
	// Structure is only inspected on valid objects; existence counts them all.
	const byKind = (kind, all) => objects.filter((o) => o.obj.kind === kind && (all || o.valid));
	const deployments = byKind('Deployment', true);
	const have = (kind, name) => objects.find((o) => o.obj.kind === kind && o.name === name);

	for (const d of byKind('Deployment')) {
		const reported = new Set();
		for (const [kind, name, key] of references(d.obj.spec.template.spec)) {
			const o = have(kind, name);
			if (!o) {
				if (!unparsed && !reported.has(`${kind} ${name}`))
					fail(d.where, `refers to ${kind} ${name}, which is not in the set`);
				reported.add(`${kind} ${name}`);
				continue;
			}
			const keys = { ...o.obj.data, ...o.obj.stringData };
			if (o.valid && key && !Object.hasOwn(keys, key))
				fail(d.where, `refers to key ${key} of ${kind} ${name}, which does not have it`);
		}
	}
	for (const s of byKind('Service'))
		checkService(s.where, s.obj, deployments);
	for (const h of byKind('HorizontalPodAutoscaler')) {
		const ref = h.obj.spec.scaleTargetRef;
		const d = deployments.find((x) => ref.kind === 'Deployment' && x.name === ref.name);
		if (!d)
			fail(h.where, `scaleTargetRef ${ref.kind}/${ref.name} is not a Deployment in the set`);
		else if (d.valid && d.obj.spec.replicas !== undefined)
			fail(d.where, `sets spec.replicas although HorizontalPodAutoscaler ${h.name} scales it`);
	}
	const seen = new Map();
	for (const o of objects) {
		const id = `${o.obj.apiVersion} ${o.obj.kind} ${o.name}`;
		if (seen.has(id))
			fail(o.where, `duplicate of ${seen.get(id)}`);
		seen.set(id, o.where);
	}
}

function checkKustomization(where, k, files) {
	if (k?.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k?.kind !== 'Kustomization') {
		fail(where, 'not a kustomize.config.k8s.io/v1beta1 Kustomization');
		return;
	}
	const listed = k.resources || [];
	const others = files.filter((f) => f !== KUSTOMIZATION);
	const before = errors.length;
	for (const r of listed) {
		if (!others.includes(r))
			fail(where, `resources lists ${r}, which is not a manifest of ${dir}`);
	}
	for (const f of others) {
		if (!listed.includes(f))
			fail(where, `resources does not list ${f}`);
	}
	if (errors.length === before)
		console.log(`ok   ${where} Kustomization (${listed.length} resources)`);
}

function main() {
	let files;
	try {
		files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
	} catch (e) {
		console.error(`k8s: cannot read ${dir}: ${e.message}`);
		return 1;
	}
	if (files.length === 0) {
		console.error(`k8s: no *.yaml in ${dir}`);
		return 1;
	}
	const objects = [];
	for (const file of files) {
		const text = fs.readFileSync(path.join(dir, file), 'utf8');
		const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
		docs.forEach((doc, i) => {
			const at = `${file}#${i + 1}`;
			for (const e of doc.errors)
				fail(at, `YAML: ${e.message.split('\n')[0]}`);
			unparsed ||= doc.errors.length > 0;
			if (doc.errors.length)
				return;
			const obj = doc.toJS();
			if (obj === null || obj === undefined)
				return; /* an empty document (a trailing ---) */
			if (file === KUSTOMIZATION) {
				checkKustomization(at, obj, files);
				return;
			}
			if (typeof obj !== 'object' || Array.isArray(obj)) {
				fail(at, 'not a mapping');
				return;
			}
			const name = obj.metadata?.name;
			const where = `${at} ${obj.kind} ${name}`;
			const cls = modelFor(obj.apiVersion, obj.kind);
			if (!cls) {
				fail(where, `unknown kind: apiVersion ${obj.apiVersion}, kind ${obj.kind}`);
				return;
			}
			const before = errors.length;
			const entry = { where, name, obj, valid: false };
			checked++;
			objects.push(entry); /* known even if invalid: no "missing" errors */
			if (!validateObject(where, cls, obj))
				return;
			entry.valid = true;
			if (!name)
				fail(where, 'no metadata.name');
			if (obj.metadata.namespace !== undefined)
				fail(where, 'metadata.namespace is set (the layout leaves it to kubectl -n)');
			if (obj.kind === 'Deployment')
				checkDeployment(where, obj);
			if (errors.length === before)
				console.log(`ok   ${where} (${obj.apiVersion})`);
		});
	}
	checkCrossReferences(objects);
	if (errors.length) {
		console.error(`k8s: ${errors.length} error(s) in ${dir}`);
		return 1;
	}
	console.log(`k8s: ${checked} objects in ${files.length} files valid (${dir})`);
	return 0;
}

process.exitCode = main();
