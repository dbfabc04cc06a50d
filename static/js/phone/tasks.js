// Facts about the work plan's tasks and their visit reports, shared by the plan and the visit form.

// The newest report of each task, by task UUID.
export function latestReports(reports) {
  const byTask = {};
  reports.forEach((r) => {
    const prev = byTask[r.task_uuid];
    if (!prev || String(r.created_at) > String(prev.created_at)) byTask[r.task_uuid] = r;
  });
  return byTask;
}

// The server's verdict on a task's visit, when there is one.
export function reportResult(task, report) {
  if (report && report.status === "sent") return report.result;
  return task.status === "done" ? task.result || null : null;
}

// Whether a task's report asks for a promise to pay or a check of the loan's use.
export function taskNeeds(task, what) {
  const evidence = task.evidence || [];
  if (evidence.indexOf(what) >= 0) return true;
  if (what === "promise") return task.kind === "collection" || task.kind === "escalation";
  if (what === "loan_use") return task.kind === "revisit";
  return false;
}
