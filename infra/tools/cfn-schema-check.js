#!/usr/bin/env node
// Checks synthesized CloudFormation templates against the CloudFormation resource
// specification carried by @aws-cdk/aws-service-spec: every resource type exists,
// every property name exists, required properties are present, and literal values
// have the specified type (intrinsics such as Ref and Fn::* are accepted anywhere).
// Usage: node cfn-schema-check.js TEMPLATE.json...
'use strict';
const fs = require('node:fs');
const { loadAwsServiceSpecSync } = require('@aws-cdk/aws-service-spec');

const db = loadAwsServiceSpecSync();
let errors = 0;
const fail = (where, msg) => { errors++; console.error(`${where}: ${msg}`); };

const isIntrinsic = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) &&
  Object.keys(v).length === 1 && (Object.keys(v)[0] === 'Ref' || Object.keys(v)[0].startsWith('Fn::'));

// matches reports the first mismatch of value v against property type ty, or ''.
function mismatch(v, ty, where) {
  if (isIntrinsic(v)) return '';
  switch (ty.type) {
    case 'string': return typeof v === 'string' ? '' : `want string, got ${JSON.stringify(v)}`;
    case 'number': case 'integer':
      return typeof v === 'number' || (typeof v === 'string' && v !== '' && !isNaN(Number(v))) ? '' : `want ${ty.type}, got ${JSON.stringify(v)}`;
    case 'boolean': return typeof v === 'boolean' || v === 'true' || v === 'false' ? '' : `want boolean, got ${JSON.stringify(v)}`;
    case 'date-time': return typeof v === 'string' ? '' : 'want date-time';
    case 'json': return '';
    case 'null': return v === null ? '' : 'want null';
    case 'tag': return v && typeof v === 'object' && 'Key' in v && 'Value' in v ? '' : 'want {Key, Value}';
    case 'array':
      if (!Array.isArray(v)) return `want array, got ${JSON.stringify(v).slice(0, 80)}`;
      for (let i = 0; i < v.length; i++) { const m = mismatch(v[i], ty.element, `${where}[${i}]`); if (m) return `[${i}]: ${m}`; }
      return '';
    case 'map':
      if (typeof v !== 'object' || Array.isArray(v) || v === null) return 'want map';
      for (const [k, x] of Object.entries(v)) { const m = mismatch(x, ty.element, `${where}.${k}`); if (m) return `.${k}: ${m}`; }
      return '';
    case 'union': {
      const ms = ty.types.map((t) => mismatch(v, t, where));
      return ms.some((m) => m === '') ? '' : ms.join(' | ');
    }
    case 'ref': {
      const def = db.get('typeDefinition', ty.reference.$ref);
      if (typeof v !== 'object' || Array.isArray(v) || v === null) return `want ${def.name} object`;
      return checkProps(v, def.properties, `${where}`, true);
    }
    default: return '';
  }
}

function checkProps(values, spec, where, nested) {
  for (const [name, p] of Object.entries(spec)) {
    if (p.required && !(name in values)) return `${where}: missing required property ${name}`;
  }
  for (const [name, v] of Object.entries(values)) {
    const p = spec[name];
    if (!p) return `${where}: unknown property ${name}`;
    const types = [p.type, ...(p.previousTypes || [])];
    const ms = types.map((t) => mismatch(v, t, `${where}.${name}`));
    if (!ms.some((m) => m === '')) return `${where}.${name}: ${ms[0]}`;
  }
  return '';
}

for (const file of process.argv.slice(2)) {
  const tpl = JSON.parse(fs.readFileSync(file, 'utf8'));
  let checked = 0;
  for (const [id, r] of Object.entries(tpl.Resources || {})) {
    const type = r.Type;
    if (type.startsWith('Custom::') || type === 'AWS::CDK::Metadata' || type === 'AWS::CloudFormation::CustomResource') continue;
    const found = db.lookup('resource', 'cloudFormationType', 'equals', type);
    if (found.length !== 1) { fail(`${file}: ${id}`, `unknown resource type ${type}`); continue; }
    const m = checkProps(r.Properties || {}, found[0].properties, `${id} (${type})`, false);
    if (m) fail(file, m);
    checked++;
  }
  console.log(`${file}: ${checked} resources checked against the CloudFormation specification`);
}
if (errors > 0) { console.error(`${errors} schema error(s)`); process.exit(1); }
