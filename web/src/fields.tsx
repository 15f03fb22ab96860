import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';

/** The validation error of the last save: `parameters.path` (SPEC §2) and its sentence. */
export interface FieldProblem {
  path: string;
  message: string;
}
export const ProblemContext = createContext<FieldProblem | null>(null);

/** True when the error concerns this attribute or something inside it (`export.csv` for `export.csv.delimiter`). */
export const concerns = (problem: FieldProblem | null, path: string) =>
  !!problem && (problem.path === path || problem.path.startsWith(`${path}.`) || problem.path.startsWith(`${path}[`));

let seq = 0;
export const useId = (prefix: string) => useState(() => `${prefix}-${++seq}`)[0];

/** aria attributes and the message element for a control whose value lives at `path`. */
export function useProblem(path: string, exact = false) {
  const problem = useContext(ProblemContext);
  const id = useId('err');
  const hit = problem && (exact ? problem.path === path : concerns(problem, path)) ? problem.message : null;
  return {
    aria: hit ? { 'aria-invalid': 'true' as const, 'aria-describedby': id } : {},
    message: hit ? (
      <p class="field-error" id={id} data-error-path={problem!.path}>
        {hit}
      </p>
    ) : null,
  };
}

export function TextField(props: {
  label: string;
  path: string;
  value: string;
  onChange: (v: string) => void;
  hint?: string;
  type?: string;
  placeholder?: string;
  required?: boolean;
  multiline?: boolean;
  autocomplete?: string;
  list?: string;
}) {
  const id = useId('f');
  const hintId = `${id}-hint`;
  const { aria, message } = useProblem(props.path);
  const describedBy = [props.hint ? hintId : '', (aria as { 'aria-describedby'?: string })['aria-describedby'] ?? '']
    .filter(Boolean)
    .join(' ');
  const common = {
    id,
    name: props.path,
    value: props.value,
    placeholder: props.placeholder,
    required: props.required,
    ...aria,
    'aria-describedby': describedBy || undefined,
    onInput: (e: Event) => props.onChange((e.target as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.multiline ? (
        <textarea rows={4} {...common} />
      ) : (
        <input
          type={(props.type ?? 'text') as 'text'}
          autocomplete={props.autocomplete ?? 'off'}
          list={props.list}
          {...common}
        />
      )}
      {props.hint && (
        <span class="hint" id={hintId}>
          {props.hint}
        </span>
      )}
      {message}
    </div>
  );
}

export function Check(props: { label: string; path: string; checked: boolean; onChange: (v: boolean) => void }) {
  const id = useId('c');
  const { aria, message } = useProblem(props.path);
  return (
    <>
      <div class="check">
        <input
          type="checkbox"
          id={id}
          name={props.path}
          checked={props.checked}
          {...aria}
          onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)}
        />
        <label for={id}>{props.label}</label>
      </div>
      {message}
    </>
  );
}

export function Select(props: {
  label: string;
  path: string;
  value: string;
  options: [string, string][];
  onChange: (v: string) => void;
}) {
  const id = useId('s');
  const { aria, message } = useProblem(props.path);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.path}
        value={props.value}
        {...aria}
        onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      >
        {props.options.map(([v, label]) => (
          <option key={v} value={v}>
            {label}
          </option>
        ))}
      </select>
      {message}
    </div>
  );
}

/** Parses "a, b, 3" into a list; numbers become numbers when `numbers` is set. */
export function parseList(text: string, kind: 'string' | 'number' | 'scalar'): unknown[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (kind === 'string') return items;
  return items.map((s) => {
    if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
    if (kind === 'scalar' && (s === 'true' || s === 'false')) return s === 'true';
    return s;
  });
}

/**
 * A comma-separated list in a text input. It keeps what the user typed (a trailing comma, a space) and reports the
 * parsed list; a new list from outside replaces the text only when it differs from what the text means.
 */
export function ListField(props: {
  label: string;
  path: string;
  value: unknown[] | undefined;
  onChange: (v: unknown[] | undefined) => void;
  kind?: 'string' | 'number' | 'scalar';
  hint?: string;
}) {
  const kind = props.kind ?? 'string';
  const [text, setText] = useState((props.value ?? []).join(', '));
  useEffect(() => {
    if (JSON.stringify(parseList(text, kind)) !== JSON.stringify(props.value ?? []))
      setText((props.value ?? []).join(', '));
  }, [JSON.stringify(props.value)]);
  return (
    <TextField
      label={props.label}
      path={props.path}
      value={text}
      hint={props.hint}
      onChange={(v) => {
        setText(v);
        const list = parseList(v, kind);
        props.onChange(list.length ? list : undefined);
      }}
    />
  );
}

export function Section(props: { title: string; children: ComponentChildren; path?: string }) {
  const { message } = useProblem(props.path ?? '\u0000', true);
  return (
    <fieldset>
      <legend>{props.title}</legend>
      {message}
      {props.children}
    </fieldset>
  );
}
