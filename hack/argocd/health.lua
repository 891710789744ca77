-- Argo CD health check for oidc.infisical-operator.io/OidcSsoConfig, SamlSsoConfig and LdapSsoConfig (it
-- reads only what every kind writes).
--
-- Install: argocd-cm keys resource.customizations.health.oidc.infisical-operator.io_OidcSsoConfig and
-- resource.customizations.health.oidc.infisical-operator.io_SamlSsoConfig and ..._LdapSsoConfig (see docs/argocd.md). Written for gopher-lua (Lua 5.1), base and string libraries only.
--
-- The status contract (kstatus): status.observedGeneration, and status.conditions of types
-- Ready, Reconciling and Stalled in the metav1.Condition shape.
--
--   metadata.deletionTimestamp set                -> Progressing (pending deletion)
--   spec.suspend: true                            -> Suspended
--   no status / no conditions yet                 -> Progressing
--   status.observedGeneration < metadata.generation -> Progressing (the operator has not seen this spec)
--   Stalled=True                                  -> Degraded (a permanent error: fix the spec or a Secret)
--   Reconciling=True                              -> Progressing (a write, retry, backoff or rate limit in flight)
--   Ready=True                                    -> Healthy
--   Ready=False with a reason                     -> Degraded
--   anything else (Ready=Unknown, no Ready)       -> Progressing
local hs = {}

local function condition(conditions, condType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == condType then
      return c
    end
  end
  return nil
end

-- The condition's message, else its reason, else the fallback.
local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local metadata = obj.metadata or {}
local spec = obj.spec or {}
local status = obj.status

if metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  return hs
end

local conditions = nil
if status ~= nil then
  conditions = status.conditions
end
local ready = condition(conditions, "Ready")
local reconciling = condition(conditions, "Reconciling")
local stalled = condition(conditions, "Stalled")

if spec.suspend == true then
  hs.status = "Suspended"
  if ready ~= nil and ready.reason == "Suspended" then
    hs.message = describe(ready, "Reconciliation is suspended")
  else
    hs.message = "Reconciliation is suspended (spec.suspend: true)"
  end
  return hs
end

if status == nil or conditions == nil or #conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile"
  return hs
end

local generation = metadata.generation
local observed = status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  if observed ~= nil then
    hs.message = hs.message .. " (observed " .. tostring(observed) .. ")"
  end
  return hs
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

if ready ~= nil and ready.status == "False" and ready.reason ~= nil and ready.reason ~= "" then
  hs.status = "Degraded"
  hs.message = describe(ready, ready.reason)
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
