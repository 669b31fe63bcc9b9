import type { Issue } from "@drover/http/wire";
import { useMemo, useState } from "preact/hooks";
import { ApiError, api, segment } from "./api.js";
import { describe, useLoad } from "./hooks.js";
import type { EventForm, Field } from "./schema.js";
import { eventFromForm, machineSchemas } from "./schema.js";

export interface EventFormPanelProps {
  readonly machine: string;
  /** The entity to send to; without it the form asks for an id (to create one). */
  readonly id?: string;
  readonly heading: string;
  readonly onSent?: (id: string, version: number) => void;
}

type Values = Record<string, string | boolean>;

interface Outcome {
  readonly tone: "ok" | "bad";
  readonly text: string;
}

/**
 * Send an event: one form per event type, generated from the machine's event schemas; the
 * server's validation issues are shown next to the fields they name.
 */
export function EventFormPanel({ machine, id, heading, onSent }: EventFormPanelProps) {
  const schemas = useLoad(() => machineSchemas(machine), [machine]);
  const events = schemas.data?.events ?? [];
  const [type, setType] = useState<string>("");
  const form = events.find((candidate) => candidate.type === type) ?? events[0];
  const [values, setValues] = useState<Values>({});
  const [entityId, setEntityId] = useState("");
  const [issues, setIssues] = useState<readonly Issue[]>([]);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  // One key per submission, kept when the network fails so that sending again is safe.
  const [key, setKey] = useState(() => crypto.randomUUID());
  const prefix = `send-${segment(machine)}-${id === undefined ? "new" : "entity"}`;

  const fieldIssues = useMemo(() => {
    const byField = new Map<string, string[]>();
    for (const issue of issues) {
      const name = issue.path.length === 0 ? "" : String(issue.path[0]);
      byField.set(name, [...(byField.get(name) ?? []), issue.message]);
    }
    return byField;
  }, [issues]);

  if (schemas.error !== undefined) {
    return (
      <section class="panel" aria-label={heading}>
        <p role="alert" class="error">
          Cannot build the event form: {describe(schemas.error)}
        </p>
      </section>
    );
  }
  if (form === undefined) return null;

  const target = id ?? entityId.trim();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setOutcome(null);
    setIssues([]);
    try {
      const result = await api<{ version: number }>(`/v1/${segment(machine)}/${segment(target)}/events`, {
        method: "POST",
        body: eventFromForm(form, values),
        headers: { "idempotency-key": key },
      });
      setKey(crypto.randomUUID());
      setOutcome({ tone: "ok", text: `${form.type} processed: ${target} is now at version ${result.version}.` });
      setValues({});
      onSent?.(target, result.version);
    } catch (failure) {
      if (failure instanceof ApiError) {
        setKey(crypto.randomUUID());
        const problem = failure.problem;
        const idIssues =
          problem.reason === "invalid_id" ? (problem.issues ?? []).map((i) => ({ ...i, path: ["@id"] })) : [];
        setIssues(problem.reason === "invalid_id" ? idIssues : (problem.issues ?? []));
        const reason = problem.reason === undefined ? "" : ` (${problem.reason})`;
        setOutcome({ tone: "bad", text: `${problem.title}${reason}: ${problem.detail ?? ""}` });
      } else {
        setOutcome({ tone: "bad", text: `Not sent: ${describe(failure as Error)}. Sending again is safe.` });
      }
    } finally {
      setBusy(false);
    }
  };

  const general = [...(fieldIssues.get("") ?? []), ...(fieldIssues.get("type") ?? [])];
  const unknownFields = [...fieldIssues.entries()].filter(
    ([name]) => name !== "" && name !== "type" && name !== "@id" && !form.fields.some((f) => f.name === name),
  );
  return (
    <section class="panel" aria-labelledby={`${prefix}-heading`}>
      <h2 id={`${prefix}-heading`}>{heading}</h2>
      <form onSubmit={submit} noValidate class="event-form">
        {id === undefined ? (
          <FieldRow
            id={`${prefix}-id`}
            label="Id"
            hint={schemas.data?.idPattern === undefined ? undefined : `pattern ${schemas.data.idPattern}`}
            errors={fieldIssues.get("@id")}
          >
            <input
              id={`${prefix}-id`}
              name="id"
              required
              value={entityId}
              autocomplete="off"
              spellcheck={false}
              onInput={(e) => setEntityId(e.currentTarget.value)}
              {...invalidProps(`${prefix}-id`, fieldIssues.get("@id"), schemas.data?.idPattern)}
            />
          </FieldRow>
        ) : null}
        <FieldRow id={`${prefix}-type`} label="Event" errors={general.length === 0 ? undefined : general}>
          <select
            id={`${prefix}-type`}
            name="type"
            value={form.type}
            onChange={(e) => {
              setType(e.currentTarget.value);
              setIssues([]);
              setOutcome(null);
            }}
          >
            {events.map((candidate) => (
              <option key={candidate.type} value={candidate.type}>
                {candidate.type}
              </option>
            ))}
          </select>
        </FieldRow>
        {form.fields.map((f) => (
          <InputFor
            key={`${form.type}-${f.name}`}
            prefix={prefix}
            form={form}
            field={f}
            value={values[f.name]}
            errors={fieldIssues.get(f.name)}
            onChange={(value) => setValues({ ...values, [f.name]: value })}
          />
        ))}
        {unknownFields.length === 0 ? null : (
          <ul class="field-error">
            {unknownFields.map(([name, messages]) => (
              <li key={name}>
                {name}: {messages.join("; ")}
              </li>
            ))}
          </ul>
        )}
        <div class="actions">
          <button type="submit" disabled={busy || target === ""}>
            Send {form.type}
          </button>
        </div>
        <p class={`outcome outcome-${outcome?.tone ?? "none"}`} role="status" aria-live="polite">
          {outcome?.text ?? ""}
        </p>
      </form>
    </section>
  );
}

/** `aria-invalid` and `aria-describedby` (the hint, then the errors) of a field. */
function invalidProps(id: string, errors: readonly string[] | undefined, hint?: string) {
  const invalid = errors !== undefined && errors.length > 0;
  const described = [hint === undefined ? "" : `${id}-hint`, invalid ? `${id}-error` : ""].filter((x) => x !== "");
  return {
    ...(invalid ? { "aria-invalid": "true" as const } : {}),
    ...(described.length === 0 ? {} : { "aria-describedby": described.join(" ") }),
  };
}

function FieldRow(props: {
  id: string;
  label: string;
  hint?: string | undefined;
  errors?: readonly string[] | undefined;
  children: preact.ComponentChildren;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint === undefined ? null : (
        <small class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </small>
      )}
      {props.errors === undefined || props.errors.length === 0 ? null : (
        <small class="field-error" id={`${props.id}-error`}>
          {props.errors.join("; ")}
        </small>
      )}
    </div>
  );
}

function InputFor(props: {
  prefix: string;
  form: EventForm;
  field: Field;
  value: string | boolean | undefined;
  errors: readonly string[] | undefined;
  onChange: (value: string | boolean) => void;
}) {
  const { field, errors } = props;
  const id = `${props.prefix}-${props.form.type}-${field.name}`;
  const label = `${field.name}${field.required ? "" : " (optional)"}`;
  const hint = hintFor(field);
  const common = { id, name: field.name, ...invalidProps(id, errors, hint) };
  const text = typeof props.value === "string" ? props.value : "";
  let input: preact.JSX.Element;
  switch (field.kind) {
    case "boolean":
      input = (
        <input
          {...common}
          type="checkbox"
          checked={props.value === true}
          onChange={(e) => props.onChange(e.currentTarget.checked)}
        />
      );
      break;
    case "select":
      input = (
        <select {...common} value={text} onChange={(e) => props.onChange(e.currentTarget.value)}>
          <option value="">{field.required ? "Choose…" : "(none)"}</option>
          {(field.options ?? []).map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      );
      break;
    case "integer":
    case "number":
      input = (
        <input
          {...common}
          type="text"
          inputMode={field.kind === "integer" ? "numeric" : "decimal"}
          value={text}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      );
      break;
    case "json":
      input = <textarea {...common} rows={3} value={text} onInput={(e) => props.onChange(e.currentTarget.value)} />;
      break;
    default:
      input = (
        <input
          {...common}
          type="text"
          autocomplete="off"
          spellcheck={false}
          value={text}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      );
  }
  return (
    <FieldRow id={id} label={label} hint={hint} errors={errors}>
      {input}
    </FieldRow>
  );
}

function hintFor(field: Field): string | undefined {
  const parts: string[] = [];
  if (field.description !== undefined) parts.push(field.description);
  if (field.kind === "integer") parts.push("a whole number");
  if (field.minimum !== undefined) parts.push(`at least ${field.minimum}`);
  if (field.maximum !== undefined) parts.push(`at most ${field.maximum}`);
  if (field.pattern !== undefined) parts.push(`pattern ${field.pattern}`);
  if (field.maxLength !== undefined) parts.push(`up to ${field.maxLength} characters`);
  if (field.kind === "json") parts.push("JSON");
  return parts.length === 0 ? undefined : parts.join(", ");
}
