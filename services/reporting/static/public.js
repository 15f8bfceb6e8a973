// The public page: every table is filled from /public/api/<source> (no token); empty → 暂无.
"use strict";

function cell(value) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
  return td;
}

async function fill(table) {
  const body = table.querySelector("tbody");
  const columns = table.dataset.columns.split(",");
  const answer = await fetch(`/public/api/${table.dataset.source}`);
  if (!answer.ok) {
    const problem = await answer.json().catch(() => ({}));
    throw new Error(answer.status === 429 ? "访问过于频繁，请稍后刷新页面。" : (problem.title || `加载失败（${answer.status}）`));
  }
  const found = await answer.json();
  document.getElementById("as-of").textContent = found.as_of;
  body.replaceChildren();
  if (found.items.length === 0) {
    const row = document.createElement("tr");
    const td = cell("暂无");
    td.colSpan = columns.length;
    td.className = "empty";
    row.append(td);
    body.append(row);
    return;
  }
  for (const item of found.items) {
    const row = document.createElement("tr");
    for (const name of columns) row.append(cell(item[name]));
    body.append(row);
  }
}

async function main() {
  const message = document.getElementById("message");
  try {
    await Promise.all([...document.querySelectorAll("table[data-source]")].map(fill));
    document.body.dataset.state = "ready";
  } catch (error) {
    message.textContent = error.message;
    document.body.dataset.state = "error";
  }
}

main();
