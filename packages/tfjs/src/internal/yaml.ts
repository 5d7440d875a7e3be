/** A YAML value this writer handles: what an `MLmodel` file holds. */
export type YamlValue =
  | string
  | number
  | boolean
  | null
  | YamlValue[]
  | { [key: string]: YamlValue | undefined };

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.\-/ ]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

function scalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'number')
    return Number.isFinite(value) ? String(value) : value > 0 ? '.inf' : value < 0 ? '-.inf' : '.nan';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (PLAIN.test(value) && !RESERVED.test(value) && !value.endsWith(' ')) return value;
  // A JSON string is a valid YAML double-quoted scalar.
  return JSON.stringify(value);
}

function lines(value: YamlValue, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      if (item !== null && typeof item === 'object') {
        const [first = '', ...rest] = lines(item, `${indent}  `);
        return [`${indent}- ${first.trimStart()}`, ...rest];
      }
      return [`${indent}- ${scalar(item)}`];
    });
  }
  if (value !== null && typeof value === 'object') {
    const out: string[] = [];
    for (const [key, inner] of Object.entries(value)) {
      if (inner === undefined) continue;
      if (
        inner !== null &&
        typeof inner === 'object' &&
        (Array.isArray(inner) ? inner.length > 0 : Object.keys(inner).length > 0)
      ) {
        out.push(`${indent}${scalar(key)}:`, ...lines(inner, `${indent}  `));
      } else if (inner !== null && typeof inner === 'object') {
        out.push(`${indent}${scalar(key)}: ${Array.isArray(inner) ? '[]' : '{}'}`);
      } else {
        out.push(`${indent}${scalar(key)}: ${scalar(inner)}`);
      }
    }
    return out;
  }
  return [`${indent}${scalar(value)}`];
}

/** Writes a block-style YAML document, as Python's `yaml.safe_dump` would for an `MLmodel` file. */
export function toYaml(value: { [key: string]: YamlValue | undefined }): string {
  return `${lines(value, '').join('\n')}\n`;
}
