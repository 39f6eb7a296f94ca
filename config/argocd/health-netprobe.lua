-- Argo CD health check for netdiag.dev/NetProbe (kstatus conditions in .status).
-- Healthy: the latest run completed and the target was reachable (Ready=True).
-- Degraded: the target is unreachable (Reachable=False) or the probe failed (phase Failed).
-- Progressing: a run is under way (Reconciling=True, phase Pending/Running) or none ran yet.
-- Install: see argocd-cm-patch.yaml beside this file (the same script, inlined).
local hs = {}
if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the first run"
  return hs
end
local conditions = {}
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    conditions[c.type] = c
  end
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to see the new spec"
  return hs
end
local reachable = conditions["Reachable"]
if reachable ~= nil and reachable.status == "False" then
  hs.status = "Degraded"
  hs.message = (reachable.reason or "Unreachable") .. ": " .. (reachable.message or "")
  return hs
end
if obj.status.phase == "Failed" then
  local completed = conditions["Completed"]
  hs.status = "Degraded"
  hs.message = (completed and completed.message) or obj.status.summary or "The probe failed"
  return hs
end
local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = obj.status.summary or "Reachable"
  return hs
end
local reconciling = conditions["Reconciling"]
if (reconciling ~= nil and reconciling.status == "True") or obj.status.phase == "Running" or obj.status.phase == "Pending" or obj.status.phase == nil then
  hs.status = "Progressing"
  hs.message = "A run is under way"
  return hs
end
hs.status = "Degraded"
hs.message = obj.status.summary or "The last run did not show the target reachable"
return hs
