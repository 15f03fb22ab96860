import { Check, ListField, Select, TextField, useProblem } from '../fields';
import { t } from '../i18n';
import type { Transport } from '../types';
import { StateBadge } from '../ui';

type Kind = 'text' | 'number' | 'secret' | 'bool' | 'select' | 'multiline-secret';
interface Opt {
  name: string;
  kind: Kind;
  choices?: [string, string][];
  placeholder?: string;
}

/** Each transport type's options (R-TR-2); secrets are write-only and come back as "***". */
const OPTIONS: Record<string, Opt[]> = {
  download: [],
  email: [
    {
      name: 'notify',
      kind: 'select',
      choices: [
        ['always', 'notify_always'],
        ['failure', 'notify_failure'],
        ['success', 'notify_success'],
      ],
    },
  ],
  directory: [{ name: 'path', kind: 'text', placeholder: '/srv/exports' }],
  sftp: [
    { name: 'host', kind: 'text' },
    { name: 'port', kind: 'number', placeholder: '22' },
    { name: 'username', kind: 'text' },
    { name: 'password', kind: 'secret' },
    { name: 'private_key', kind: 'multiline-secret' },
    { name: 'path', kind: 'text' },
    { name: 'host_fingerprint', kind: 'text', placeholder: 'SHA256:…' },
  ],
  ftp: [
    { name: 'host', kind: 'text' },
    { name: 'port', kind: 'number', placeholder: '21' },
    { name: 'username', kind: 'text' },
    { name: 'password', kind: 'secret' },
    { name: 'path', kind: 'text' },
    {
      name: 'secure',
      kind: 'select',
      choices: [
        ['false', 'false'],
        ['explicit', 'explicit'],
        ['implicit', 'implicit'],
      ],
    },
  ],
  s3: [
    { name: 'endpoint', kind: 'text', placeholder: 'https://s3.example.com' },
    { name: 'region', kind: 'text' },
    { name: 'bucket', kind: 'text' },
    { name: 'prefix', kind: 'text' },
    { name: 'access_key_id', kind: 'text' },
    { name: 'secret_access_key', kind: 'secret' },
    { name: 'force_path_style', kind: 'bool' },
  ],
  webhook: [
    { name: 'url', kind: 'text', placeholder: 'https://example.com/hook' },
    { name: 'secret', kind: 'secret' },
  ],
  url: [{ name: 'url', kind: 'text', placeholder: 'sftp://user@host/path' }],
};
const TYPES = Object.keys(OPTIONS);
const PACKERS = ['zip', 'zip_10mb', 'zip_2gb', 'tar', 'tar_gz'];
const MASK = '***';

/** Option labels are the contract's names, readable: `access_key_id` -> "Access key id". */
const labelOf = (name: string) => name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ');

export function TransportEditor(props: {
  index: number;
  value: Transport;
  onChange: (t: Transport) => void;
  onRemove: () => void;
}) {
  const tr = props.value;
  const base = `_transports[${props.index}]`;
  const options = (tr.options ?? {}) as Record<string, unknown>;
  const setOption = (name: string, v: unknown) => {
    const next = { ...options };
    if (v === undefined || v === '') delete next[name];
    else next[name] = v;
    props.onChange({ ...tr, options: Object.keys(next).length ? next : undefined });
  };
  const { message } = useProblem(base, true);
  const label = t('transport', { n: props.index + 1 });
  const withEmail = tr.type === 'email' || tr.type === 'download';
  const remote = tr.type !== 'email' && tr.type !== 'webhook';

  return (
    <fieldset class="item-set">
      <legend class="item-title">{label}</legend>
      <div class="row">
        <Select
          label={t('transport_type')}
          path={`${base}.type`}
          value={tr.type}
          options={TYPES.map((k) => [k, k])}
          onChange={(v) => props.onChange({ type: v, ...(v === 'download' ? { packer: 'zip' } : {}) })}
        />
        {remote && (
          <Select
            label={t('packer')}
            path={`${base}.packer`}
            value={tr.packer ?? ''}
            options={[
              ...(tr.type === 'download' ? [] : ([['', t('packer_none')]] as [string, string][])),
              ...PACKERS.map((p): [string, string] => [p, p]),
            ]}
            onChange={(v) => props.onChange({ ...tr, packer: v || undefined })}
          />
        )}
        {tr._state && <StateBadge state={tr._state} />}
        <button type="button" onClick={props.onRemove} aria-label={`${t('remove')} ${label}`}>
          {t('remove')}
        </button>
      </div>
      {message}
      {tr._failure_reason && <p class="failure">{tr._failure_reason}</p>}
      <div class="grid">
        {(OPTIONS[tr.type] ?? []).map((o) => {
          const path = `${base}.options.${o.name}`;
          const v = options[o.name];
          if (o.kind === 'bool')
            return (
              <Check
                key={o.name}
                label={labelOf(o.name)}
                path={path}
                checked={v === true}
                onChange={(c) => setOption(o.name, c || undefined)}
              />
            );
          if (o.kind === 'select')
            return (
              <Select
                key={o.name}
                label={o.name === 'notify' ? t('notify') : labelOf(o.name)}
                path={path}
                value={String(v ?? o.choices![0][0])}
                options={o.choices!.map(([val, l]) => [val, o.name === 'notify' ? t(l) : l])}
                onChange={(c) => setOption(o.name, o.name === 'secure' && c === 'false' ? false : c)}
              />
            );
          if (o.kind === 'secret' || o.kind === 'multiline-secret') {
            // A stored secret shows as "***" (placeholder); left empty it is sent back as "***" and kept by the server.
            const stored = v === MASK;
            return (
              <TextField
                key={o.name}
                label={labelOf(o.name)}
                path={path}
                type="password"
                multiline={o.kind === 'multiline-secret'}
                autocomplete="new-password"
                value={stored ? '' : String(v ?? '')}
                placeholder={stored ? MASK : undefined}
                hint={stored ? t('secret_kept') : undefined}
                onChange={(c) => setOption(o.name, c === '' && stored ? MASK : c)}
              />
            );
          }
          return (
            <TextField
              key={o.name}
              label={labelOf(o.name)}
              path={path}
              type={o.kind === 'number' ? 'number' : 'text'}
              placeholder={o.placeholder}
              value={v === undefined || v === null ? '' : String(v)}
              onChange={(c) => setOption(o.name, o.kind === 'number' ? (c === '' ? undefined : Number(c)) : c)}
            />
          );
        })}
      </div>
      {withEmail && (
        <div class="grid">
          <ListField
            label={t('recipients')}
            path={`${base}.email.recipients`}
            hint={t('recipients_hint')}
            value={tr.email?.recipients}
            onChange={(r) => {
              const email = { ...(tr.email ?? {}), recipients: r as string[] | undefined };
              props.onChange({ ...tr, email: email.recipients?.length || email.message ? email : undefined });
            }}
          />
          <TextField
            label={t('message')}
            path={`${base}.email.message`}
            multiline
            value={tr.email?.message ?? ''}
            onChange={(m) => {
              const email = { ...(tr.email ?? {}), message: m };
              props.onChange({ ...tr, email: email.recipients?.length || m ? email : undefined });
            }}
          />
        </div>
      )}
    </fieldset>
  );
}
