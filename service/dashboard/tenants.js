// The console's tenants and keys, for admin keys only, exactly as the API scopes
// them: the operator lists and creates tenants, sets their quotas, and issues and
// revokes every tenant's keys; a tenant's own admin key sees its tenant and issues
// and revokes its keys. Each action asks first and then says what it did; a new
// key is shown once, with a copy button.
'use strict';

/** The tenant whose keys show (null: none chosen). */
let shownTenant = null;

const tenantPath = (name) => `/v1/admin/tenants/${encodeURIComponent(name)}`;
/** The quota fields of a form, those filled in, as numbers. */
function quotasOf(fields) {
  const quotas = {};
  for (const [name, id] of Object.entries(fields)) if ($(id).value !== '') quotas[name] = Number($(id).value);
  return quotas;
}
const describeQuotas = (q) => Object.entries(q).map(([k, v]) => `${k} ${v.toLocaleString()}`).join(', ') || 'the server defaults';

async function showTenants(name) {
  $('tenant-create').hidden = !me.operator;
  const tenants = me.operator ? (await api('/v1/admin/tenants')).tenants : [await api(tenantPath(me.tenant))];
  fillTable(
    'tenants',
    tenants.map((t) =>
      row([
        link(t.name, `#/tenants/${encodeURIComponent(t.name)}`),
        { text: `${t.usage.indexes} / ${t.maxIndexes.toLocaleString()}`, num: true },
        { text: `${t.usage.vectors.toLocaleString()} / ${t.maxVectors.toLocaleString()}`, num: true },
        { text: `${fmtBytes(t.usage.bytes)} / ${fmtBytes(t.maxBytes)}`, num: true },
        new Date(t.createdAt).toLocaleString(),
        link('Keys and quotas', `#/tenants/${encodeURIComponent(t.name)}`),
      ]),
    ),
  );
  const chosen = tenants.find((t) => t.name === name) ?? (tenants.length === 1 ? tenants[0] : null);
  if (chosen) await showTenant(chosen);
  else $('tenant-detail').hidden = true;
  show('tenants-view');
}

async function showTenant(tenant) {
  if (!shownTenant || shownTenant.name !== tenant.name) $('new-key').hidden = true;
  shownTenant = tenant;
  $('tenant-title').textContent = `Tenant ${tenant.name}`;
  // Quotas change with PATCH /v1/admin/tenants/{tenant}: the operator's alone.
  $('quota-form').hidden = !me.operator;
  $('quota-max-indexes').value = tenant.maxIndexes;
  $('quota-max-vectors').value = tenant.maxVectors;
  $('quota-max-bytes').value = tenant.maxBytes;
  const { keys } = await api(`${tenantPath(tenant.name)}/keys`);
  fillTable(
    'keys',
    keys.map((k) => {
      let action = '';
      if (!k.revokedAt) {
        action = button('Revoke', () => revokeKey(k));
        action.className = 'revoke';
        action.dataset.keyId = k.id;
      }
      return row([k.id, k.role, k.label ?? '', new Date(k.createdAt).toLocaleString(), k.revokedAt ? new Date(k.revokedAt).toLocaleString() : '', action]);
    }),
  );
  $('tenant-detail').hidden = false;
}

/** Runs an action the person confirmed, then says what it did and redraws the page. */
async function act(question, action) {
  if (!(await confirmAction(question))) return;
  try {
    const done = await action();
    await route();
    notify(done);
  } catch (e) {
    notify(e.message, true);
  }
}

async function createTenant() {
  const name = $('tenant-name').value.trim();
  const quotas = quotasOf({ maxIndexes: 'tenant-max-indexes', maxVectors: 'tenant-max-vectors', maxBytes: 'tenant-max-bytes' });
  await act(`Create tenant ${name} with quotas: ${describeQuotas(quotas)}?`, async () => {
    await api('/v1/admin/tenants', { method: 'POST', json: Object.keys(quotas).length ? { name, quotas } : { name } });
    $('tenant-form').reset();
    location.hash = `#/tenants/${encodeURIComponent(name)}`;
    return `Created tenant ${name} (quotas: ${describeQuotas(quotas)}). It has no keys yet: issue one below.`;
  });
}

async function setQuotas() {
  const name = shownTenant.name;
  const quotas = quotasOf({ maxIndexes: 'quota-max-indexes', maxVectors: 'quota-max-vectors', maxBytes: 'quota-max-bytes' });
  await act(`Set the quotas of tenant ${name} to ${describeQuotas(quotas)}?`, async () => {
    await api(tenantPath(name), { method: 'PATCH', json: { quotas } });
    return `Set the quotas of tenant ${name}: ${describeQuotas(quotas)}.`;
  });
}

async function issueKey() {
  const name = shownTenant.name;
  const role = $('key-role').value;
  const label = $('key-label').value.trim();
  await act(`Issue a ${role} key${label ? ` labelled "${label}"` : ''} for tenant ${name}?`, async () => {
    const issued = await api(`${tenantPath(name)}/keys`, { method: 'POST', json: label ? { role, label } : { role } });
    $('key-label').value = '';
    $('new-key-value').textContent = issued.key;
    $('new-key-copied').textContent = '';
    $('new-key').hidden = false;
    return `Issued ${role} key ${issued.id} for tenant ${name}. It is shown below this once: copy it now.`;
  });
}

async function revokeKey(k) {
  await act(`Revoke ${k.role} key ${k.id}${k.label ? ` ("${k.label}")` : ''} of tenant ${k.tenant}? Requests with it are refused from now on.`, async () => {
    const revoked = await api(`/v1/admin/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
    if (revoked.id === me.id) {
      signOut();
      return `Revoked key ${revoked.id}: the key this page was signed in with.`;
    }
    return `Revoked ${revoked.role} key ${revoked.id} of tenant ${revoked.tenant} at ${new Date(revoked.revokedAt).toLocaleTimeString()}: it is refused from now on.`;
  });
}

async function copyNewKey() {
  const text = $('new-key-value').textContent;
  try {
    await navigator.clipboard.writeText(text);
    $('new-key-copied').textContent = 'Copied to the clipboard.';
  } catch {
    // No clipboard access (a page not served over https or from localhost): select it for the person to copy.
    getSelection().selectAllChildren($('new-key-value'));
    $('new-key-copied').textContent = 'Selected: copy it with Ctrl+C.';
  }
}

onSubmit('tenant-form', createTenant);
onSubmit('quota-form', setQuotas);
onSubmit('key-form', issueKey);
$('new-key-copy').addEventListener('click', copyNewKey);
