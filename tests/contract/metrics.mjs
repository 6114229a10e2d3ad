// metrics.mjs - checks a Prometheus text exposition (format 0.0.4), such as
// the gateway's GET /metrics.
//
//   node tests/contract/metrics.mjs [--route-templates-only] <file | ->
//
// Two passes:
//  1. parse-prometheus-text-format (npm) must parse it. That parser is
//     lenient: it accepts "# TYPE x bogus", "garbage line here" (name,
//     value "line", timestamp "here") and non-numeric values. So
//  2. a strict line grammar of our own (one regex per line type) plus the
//     format's structural rules: one HELP and one TYPE per family, TYPE before
//     its samples, a family's samples contiguous, histogram samples named
//     _bucket/_sum/_count with an `le` on every bucket, buckets cumulative and
//     +Inf equal to _count.
// Then the gateway's contract: its families present with the right types and,
// with --route-templates-only, no `route` label holding a numeric path segment
// (a raw id instead of a template such as "/api/v1/users/:id").
// Exit 0 with a one-line summary, or 1 with the reasons.
import fs from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

const REQUIRED = {
	http_requests_total: 'counter',
	http_request_duration_seconds: 'histogram',
	http_requests_in_flight: 'gauge',
	upstream_requests_total: 'counter',
	upstream_errors_total: 'counter',
	upstream_request_duration_seconds: 'histogram',
	rate_limit_rejections_total: 'counter',
	rate_limit_fallback: 'gauge',
};

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = '[a-zA-Z_][a-zA-Z0-9_]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const LABEL = `${LABEL_NAME}=${LABEL_VALUE}`;
const FLOAT = '[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN';
const RE_HELP = new RegExp(`^#[ \\t]+HELP[ \\t]+(${NAME})[ \\t]+((?:[^\\\\]|\\\\[\\\\n])*)$`);
const RE_TYPE = new RegExp(`^#[ \\t]+TYPE[ \\t]+(${NAME})[ \\t]+(counter|gauge|histogram|summary|untyped)$`);
const RE_SAMPLE = new RegExp(
	`^(${NAME})(?:\\{((?:${LABEL}(?:,${LABEL})*,?)?)\\})?[ \\t]+(${FLOAT})(?:[ \\t]+(-?[0-9]+))?[ \\t]*$`);
const RE_ONE_LABEL = new RegExp(`(${LABEL_NAME})=(${LABEL_VALUE})`, 'g');

// A sample value or le as a number ("+Inf" is not one for Number()).
function promNumber(text) {
	const m = /^([+-]?)Inf$/.exec(text);
	if (m)
		return m[1] === '-' ? -Infinity : Infinity;
	return Number(text);
}

function unescapeLabel(quoted) {
	return quoted.slice(1, -1).replace(/\\(["\\n])/g, (_, c) => (c === 'n' ? '\n' : c));
}

function parseLabels(text) {
	const labels = {};
	for (const m of (text || '').matchAll(RE_ONE_LABEL))
		labels[m[1]] = unescapeLabel(m[2]);
	return labels;
}

// The family a sample belongs to: its own name, or for a histogram/summary
// sample the name without the suffix, when that family was declared.
function familyOf(name, types) {
	for (const suffix of ['_bucket', '_sum', '_count']) {
		if (!name.endsWith(suffix))
			continue;
		const base = name.slice(0, -suffix.length);
		const t = types.get(base);
		if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket'))
			return base;
	}
	return name;
}

// Pass 2: returns { errors, samples } where samples are { family, name, labels, value }.
function strictCheck(text) {
	const errors = [];
	const samples = [];
	const types = new Map();
	const helps = new Set();
	const seen = new Set(); // families whose samples have started
	let current = null; // the family of the previous sample
	if (text.length > 0 && !text.endsWith('\n'))
		errors.push('the text does not end with a line feed');
	const lines = text.split('\n');
	if (lines[lines.length - 1] === '')
		lines.pop();
	lines.forEach((line, i) => {
		const where = `line ${i + 1}: ${JSON.stringify(line)}`;
		let m;
		if (line === '')
			return;
		if (/^#[ \t]+HELP[ \t]/.test(line)) {
			if (!(m = RE_HELP.exec(line)))
				return errors.push(`${where}: malformed HELP`);
			if (helps.has(m[1]))
				errors.push(`${where}: second HELP for ${m[1]}`);
			helps.add(m[1]);
		} else if (/^#[ \t]+TYPE[ \t]/.test(line)) {
			if (!(m = RE_TYPE.exec(line)))
				return errors.push(`${where}: malformed TYPE (or unknown type)`);
			if (types.has(m[1]))
				errors.push(`${where}: second TYPE for ${m[1]}`);
			if (seen.has(m[1]))
				errors.push(`${where}: TYPE after samples of ${m[1]}`);
			types.set(m[1], m[2]);
		} else if (line.startsWith('#')) {
			return; // a plain comment
		} else {
			if (!(m = RE_SAMPLE.exec(line)))
				return errors.push(`${where}: malformed sample line`);
			const family = familyOf(m[1], types);
			if (family !== current && seen.has(family))
				errors.push(`${where}: samples of ${family} are not contiguous`);
			seen.add(family);
			current = family;
			samples.push({ family, name: m[1], labels: parseLabels(m[2]), value: m[3] });
		}
	});
	checkHistograms(samples, types, errors);
	return { errors, samples };
}

// Buckets cumulative, an le on every bucket, +Inf present and equal to _count.
function checkHistograms(samples, types, errors) {
	const series = new Map();
	for (const s of samples) {
		if (types.get(s.family) !== 'histogram')
			continue;
		const { le, ...rest } = s.labels;
		const key = `${s.family}${JSON.stringify(rest)}`;
		if (!series.has(key))
			series.set(key, { buckets: [], count: null });
		const h = series.get(key);
		if (s.name === `${s.family}_bucket`) {
			if (le === undefined)
				errors.push(`${key}: a bucket without le`);
			else
				h.buckets.push([promNumber(le), promNumber(s.value)]);
		} else if (s.name === `${s.family}_count`) {
			h.count = promNumber(s.value);
		} else if (s.name !== `${s.family}_sum`) {
			errors.push(`${key}: sample ${s.name} in a histogram`);
		}
	}
	for (const [key, h] of series) {
		const sorted = [...h.buckets].sort((a, b) => a[0] - b[0]);
		for (let i = 1; i < sorted.length; i++)
			if (sorted[i][1] < sorted[i - 1][1])
				errors.push(`${key}: buckets not cumulative at le=${sorted[i][0]}`);
		const inf = sorted.find((b) => b[0] === Infinity);
		if (!inf)
			errors.push(`${key}: no le="+Inf" bucket`);
		else if (h.count === null || h.count !== inf[1])
			errors.push(`${key}: _count ${h.count} differs from the +Inf bucket ${inf[1]}`);
	}
}

function checkContract(parsed, samples, templatesOnly, errors) {
	const byName = new Map(parsed.map((f) => [f.name, f]));
	for (const [name, type] of Object.entries(REQUIRED)) {
		const f = byName.get(name);
		if (!f)
			errors.push(`family ${name} is missing`);
		else if (f.type !== type.toUpperCase())
			errors.push(`family ${name} has type ${f.type.toLowerCase()}, expected ${type}`);
	}
	if (!templatesOnly)
		return;
	const bad = new Set();
	for (const s of samples) {
		const route = s.labels.route;
		if (route !== undefined && route.split('/').some((seg) => /^[0-9]+$/.test(seg)))
			bad.add(route);
	}
	for (const route of bad)
		errors.push(`route label ${JSON.stringify(route)} holds a numeric path segment`);
}

function main(argv) {
	const templatesOnly = argv.includes('--route-templates-only');
	const files = argv.filter((a) => a !== '--route-templates-only');
	if (files.length !== 1 || (files[0].startsWith('-') && files[0] !== '-')) {
		console.error('usage: metrics.mjs [--route-templates-only] <file | ->');
		return 2;
	}
	let text;
	try {
		text = fs.readFileSync(files[0] === '-' ? 0 : files[0], 'utf8');
	} catch (e) {
		console.error(`metrics: cannot read ${files[0]}: ${e.message}`);
		return 1;
	}
	let parsed;
	try {
		parsed = parsePrometheusTextFormat(text);
	} catch (e) {
		console.error(`metrics: parse-prometheus-text-format rejected the text: ${e.message}`);
		return 1;
	}
	const { errors, samples } = strictCheck(text);
	checkContract(parsed, samples, templatesOnly, errors);
	if (errors.length > 0) {
		for (const e of errors.slice(0, 50))
			console.error(`metrics: ${e}`);
		if (errors.length > 50)
			console.error(`metrics: ... and ${errors.length - 50} more`);
		return 1;
	}
	console.log(`metrics: ok: ${parsed.length} families, ${samples.length} samples`);
	return 0;
}

process.exitCode = main(process.argv.slice(2));
