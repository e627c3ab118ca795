// Validates every object of deploy/kubernetes against the JSON schema of its kind (kubernetes-models, generated from
// the Kubernetes OpenAPI), with no cluster: required fields, types, formats and enums. Then the cross-references that
// a schema cannot see: every resource file listed in kustomization.yaml and every object in one, config maps,
// secrets and volume claims the pods name exist, probes name declared ports, selectors match their pod labels.
//   node validate.mjs [folder]        exits 1 with one line per problem
import fs from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

const folder = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, ".."));
const problems = [];
const objects = [];

const kustomization = parseAllDocuments(fs.readFileSync(path.join(folder, "kustomization.yaml"), "utf8"))[0].toJSON();
const listed = new Set(kustomization.resources ?? []);
for (const file of fs.readdirSync(folder).filter((name) => /\.ya?ml$/.test(name) && name !== "kustomization.yaml")) {
  if (!listed.has(file)) problems.push(`${file}: not listed in kustomization.yaml`);
}
for (const file of listed) {
  const documents = parseAllDocuments(fs.readFileSync(path.join(folder, file), "utf8"));
  for (const document of documents) {
    if (document.errors.length) problems.push(`${file}: ${document.errors[0].message}`);
    const object = document.toJSON();
    if (object) objects.push({ file, object });
  }
}

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const module = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
  try {
    return (await import(module))[kind];
  } catch {
    return undefined;
  }
}

for (const { file, object } of objects) {
  const where = `${file}: ${object.kind}/${object.metadata?.name}`;
  const Model = await modelFor(object.apiVersion ?? "", object.kind ?? "");
  if (!Model) {
    problems.push(`${where}: unknown apiVersion/kind ${object.apiVersion}/${object.kind}`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    for (const detail of error.errors ?? [error]) problems.push(`${where}: ${detail.instancePath ?? ""} ${detail.message}`);
  }
}

const named = (kind, name) => objects.some(({ object }) => object.kind === kind && object.metadata?.name === name);
for (const { file, object } of objects.filter(({ object }) => object.kind === "Deployment")) {
  const where = `${file}: Deployment/${object.metadata.name}`;
  const pod = object.spec.template;
  for (const [key, value] of Object.entries(object.spec.selector.matchLabels ?? {})) {
    if (pod.metadata?.labels?.[key] !== value) problems.push(`${where}: the selector ${key}=${value} does not match the pod's labels`);
  }
  for (const volume of pod.spec.volumes ?? []) {
    const claim = volume.persistentVolumeClaim?.claimName;
    if (claim && !named("PersistentVolumeClaim", claim)) problems.push(`${where}: no PersistentVolumeClaim ${claim}`);
  }
  for (const container of pod.spec.containers) {
    const volumes = new Set((pod.spec.volumes ?? []).map((volume) => volume.name));
    for (const mount of container.volumeMounts ?? []) {
      if (!volumes.has(mount.name)) problems.push(`${where}: ${container.name} mounts an undeclared volume ${mount.name}`);
    }
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef && !named("ConfigMap", source.configMapRef.name)) problems.push(`${where}: no ConfigMap ${source.configMapRef.name}`);
      if (source.secretRef && !named("Secret", source.secretRef.name)) problems.push(`${where}: no Secret ${source.secretRef.name}`);
    }
    const ports = new Set((container.ports ?? []).flatMap((port) => [port.name, port.containerPort]));
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const port = container[probe]?.httpGet?.port;
      if (port !== undefined && !ports.has(port)) problems.push(`${where}: ${container.name}'s ${probe} names port ${port}, which it does not declare`);
    }
    if (!(kustomization.images ?? []).some((image) => image.name === container.image)) {
      problems.push(`${where}: ${container.name}'s image ${container.image} is not set in kustomization.yaml`);
    }
  }
}
for (const { file, object } of objects.filter(({ object }) => object.kind === "Service")) {
  const selected = objects.filter(({ object: other }) => other.kind === "Deployment" &&
    Object.entries(object.spec.selector ?? {}).every(([key, value]) => other.spec.template.metadata?.labels?.[key] === value));
  if (selected.length === 0) problems.push(`${file}: Service/${object.metadata.name} selects no pods`);
}

for (const problem of problems) console.log(problem);
console.log(`${objects.length} objects in ${listed.size} files: ${problems.length ? `${problems.length} problems` : "valid"}`);
process.exit(problems.length ? 1 : 0);
