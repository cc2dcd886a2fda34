// The lab's own registry page: what the teacher needs from the registry's v2 API, on the
// UI's origin. Every /v2/ request answers the registry's Bearer challenge the Docker way:
// the realm (on this origin: the lab's nginx serves /token) is asked for a token with the
// browser's own Basic prompt, then the request is sent again with the token.
"use strict";

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const tokens = new Map(); // scope -> {token, expires}
let account = null; // the login's name, read from the first token

function challengeOf(response) {
  const header = response.headers.get("WWW-Authenticate") || "";
  const params = {};
  for (const [, key, value] of header.matchAll(/(\w+)="([^"]*)"/g)) params[key] = value;
  return header.startsWith("Bearer ") ? params : null;
}

function claimsOf(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload + "=".repeat((4 - (payload.length % 4)) % 4)));
}

// One token request at a time: the first one carries the login prompt, and the browser
// answers the later ones with the login it saved instead of prompting in parallel.
let tokenQueue = Promise.resolve();
function tokenFor(challenge) {
  const next = tokenQueue.then(() => fetchToken(challenge));
  tokenQueue = next.catch(() => undefined);
  return next;
}

async function fetchToken(challenge) {
  const key = challenge.scope || "";
  const cached = tokens.get(key);
  if (cached && cached.expires > Date.now()) return cached.token;
  const url = new URL(challenge.realm, location.href);
  url.searchParams.set("service", challenge.service);
  if (challenge.scope) url.searchParams.set("scope", challenge.scope);
  const answer = await fetch(url, { credentials: "same-origin" });
  if (!answer.ok) throw new Error(`the token service answered ${answer.status}: not logged in`);
  const body = await answer.json();
  const token = body.token || body.access_token;
  account = claimsOf(token).sub || account;
  const seconds = Math.max(10, (body.expires_in || 60) - 10);
  tokens.set(key, { token, expires: Date.now() + seconds * 1000 });
  return token;
}

// A /v2/ request with the token flow; null when the login may not do it.
async function registry(path, options = {}) {
  const first = await fetch(path, options);
  const challenge = first.status === 401 ? challengeOf(first) : null;
  if (!challenge) return first.status === 401 || first.status === 403 ? null : first;
  const token = await tokenFor(challenge);
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${token}` };
  const retry = await fetch(path, { ...options, headers });
  return retry.status === 401 || retry.status === 403 ? null : retry;
}

async function json(path, options) {
  const response = await registry(path, options);
  if (response === null) return null;
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function nextLink(response) {
  const link = response.headers.get("Link") || "";
  const match = link.match(/<([^>]+)>;\s*rel="next"/);
  return match ? match[1] : null;
}

// Every repository, page by page along the registry's Link header; null if refused.
async function catalog(pageSize) {
  const names = [];
  let path = `/v2/_catalog?n=${pageSize}`;
  while (path) {
    const response = await registry(path);
    if (response === null) return null;
    if (!response.ok) throw new Error(`catalog: ${response.status}`);
    names.push(...((await response.json()).repositories || []));
    path = nextLink(response);
  }
  return names;
}

async function manifest(repository, reference) {
  const response = await registry(`/v2/${repository}/manifests/${reference}`, {
    headers: { Accept: MANIFEST_TYPES },
  });
  if (response === null || !response.ok) return null;
  return { digest: response.headers.get("Docker-Content-Digest"), body: await response.json() };
}

// Size (config and layers), creation date and blobs of one tag; an index counts its first
// platform, as `docker pull` on the course machines would.
async function describe(repository, tag) {
  const top = await manifest(repository, tag);
  if (top === null) return null;
  let image = top.body;
  if (image.manifests) {
    const child = await manifest(repository, image.manifests[0].digest);
    image = child ? child.body : { layers: [] };
  }
  const blobs = [image.config, ...(image.layers || [])].filter(Boolean);
  let created = null;
  if (image.config) {
    const config = await json(`/v2/${repository}/blobs/${image.config.digest}`);
    created = config && config.created ? new Date(config.created) : null;
  }
  return {
    tag,
    digest: top.digest,
    size: blobs.reduce((sum, blob) => sum + blob.size, 0),
    created,
    blobs,
  };
}

async function tagsOf(repository) {
  const body = await json(`/v2/${repository}/tags/list`);
  return (body && body.tags) || [];
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function when(date) {
  return date ? date.toISOString().replace("T", " ").slice(0, 16) + " UTC" : "unknown";
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function status(text, isError = false) {
  const line = document.getElementById("status");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

function studentOf(repository, settings) {
  const [prefix] = settings.student_namespace.split("{name}");
  const rest = settings.student_namespace.split("{name}")[1] || "";
  return settings.students.find((name) => repository.startsWith(prefix + name + rest)) || null;
}

async function showTags(repository, settings, canDelete) {
  const section = document.getElementById("tags-section");
  const body = document.querySelector("#tags tbody");
  document.getElementById("tags-repo").textContent = repository;
  body.replaceChildren();
  section.hidden = false;
  status(`Reading the tags of ${repository}…`);
  const tags = (await tagsOf(repository)).sort();
  const rows = await Promise.all(tags.map((tag) => describe(repository, tag)));
  for (const info of rows.filter(Boolean)) {
    const row = body.insertRow();
    row.dataset.tag = info.tag;
    cell(row, info.tag);
    const digest = cell(row, info.digest.slice(0, 19));
    digest.title = info.digest;
    digest.className = "digest";
    cell(row, bytes(info.size), "num size");
    cell(row, when(info.created), "created");
    const action = row.insertCell();
    if (canDelete) {
      const button = document.createElement("button");
      button.className = "link delete";
      button.textContent = "delete";
      button.onclick = () => deleteTag(repository, info, settings);
      action.append(button);
    }
  }
  status(`${repository}: ${rows.length} tag(s).`);
}

async function deleteTag(repository, info, settings) {
  // The registry deletes by digest, which takes every tag on that manifest.
  if (!window.confirm(`Delete ${repository}@${info.digest} (every tag on it)?`)) return;
  const response = await registry(`/v2/${repository}/manifests/${info.digest}`, {
    method: "DELETE",
  });
  status(
    response && response.status === 202
      ? `Deleted ${repository}@${info.digest}.`
      : `Not deleted: the registry refused (${response ? response.status : "no right"}).`,
    !(response && response.status === 202),
  );
  await showTags(repository, settings, true);
}

async function showStudents(byStudent) {
  const body = document.querySelector("#students tbody");
  for (const [student, repositories] of byStudent) {
    const images = [];
    for (const repository of repositories) {
      for (const tag of await tagsOf(repository)) images.push(describe(repository, tag));
    }
    const described = (await Promise.all(images)).filter(Boolean);
    const blobs = new Map();
    for (const image of described) for (const blob of image.blobs) blobs.set(blob.digest, blob.size);
    const dates = described.map((image) => image.created).filter(Boolean);
    const last = dates.length ? new Date(Math.max(...dates)) : null;
    const row = body.insertRow();
    row.dataset.student = student;
    cell(row, student);
    cell(row, String(repositories.length), "num repositories");
    cell(row, repositories.length ? when(last) : "no push yet", "last-push");
    cell(row, bytes([...blobs.values()].reduce((a, b) => a + b, 0)), "num bytes");
  }
}

async function main() {
  const settings = await (await fetch("config.json", { cache: "no-store" })).json();
  document.title = settings.title;
  document.getElementById("title").textContent = settings.title;
  const pageSize = Number(new URLSearchParams(location.search).get("n")) || settings.catalog_page_size;
  const names = await catalog(pageSize);
  document.getElementById("who").textContent = account ? `logged in as ${account}` : "";
  if (names === null) {
    const notice = document.getElementById("notice");
    notice.hidden = false;
    notice.textContent =
      `${account || "This login"} may not read the catalog: this page is the teacher's ` +
      `(log in as ${settings.admin}); students push and pull their own images with docker.`;
    status("");
    document.body.dataset.ready = "refused";
    return;
  }
  const canDelete = settings.delete_enabled && account === settings.admin;
  const byStudent = new Map(settings.students.map((name) => [name, []]));
  const course = [];
  for (const name of names) {
    const student = studentOf(name, settings);
    if (student) byStudent.get(student).push(name);
    else course.push(name);
  }
  const body = document.querySelector("#course tbody");
  for (const [i, name] of course.entries()) {
    const row = body.insertRow();
    row.dataset.repository = name;
    const button = document.createElement("button");
    button.className = "link";
    button.textContent = name;
    button.onclick = () => showTags(name, settings, canDelete);
    row.insertCell().append(button);
    cell(row, i < 100 ? "…" : "", "num tags");
  }
  document.getElementById("course-count").textContent = `(${course.length})`;
  document.getElementById("course-section").hidden = false;
  document.getElementById("students-count").textContent = `(${byStudent.size})`;
  document.getElementById("students-section").hidden = false;
  status(`${names.length} repositories: ${course.length} course, ${names.length - course.length} in students' namespaces.`);
  // Tag counts of the first rows only: a catalog of thousands would cost a token each.
  await Promise.all(
    course.slice(0, 100).map(async (name, i) => {
      body.rows[i].cells[1].textContent = String((await tagsOf(name)).length);
    }),
  );
  await showStudents(byStudent);
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  status(`Could not read the registry: ${error.message}`, true);
  document.body.dataset.ready = "error";
});
