/**
 * Server-side HTML for the admin pages: every value from the runtime is escaped (payload types,
 * client ids and error messages come from clients), markup is built only here.
 */
export const escapeHtml = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Already-escaped markup, so `h` does not escape it twice. */
export class Markup {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

type Child = Markup | string | number | null | undefined | false | readonly Child[];

function render(child: Child): string {
  if (child === null || child === undefined || child === false) return '';
  if (child instanceof Markup) return child.html;
  if (Array.isArray(child)) return child.map(render).join('');
  return escapeHtml(child);
}

/** `<tag attrs>children</tag>`; attributes with undefined or false values are left out. */
export function h(tag: string, attrs: Readonly<Record<string, string | number | boolean | undefined>> = {}, ...children: Child[]): Markup {
  let open = `<${tag}`;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    open += value === true ? ` ${name}` : ` ${name}="${escapeHtml(value)}"`;
  }
  return new Markup(`${open}>${children.map(render).join('')}</${tag}>`);
}

export const raw = (html: string): Markup => new Markup(html);

export function duration(ms: number): string {
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** Thousands grouped: 12,345. */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export const clockTime = (at: number): string => new Date(at).toISOString().slice(11, 19);

/** Embeds a value for the page's script: `<` escaped, so no string in it can close the script element. */
export const jsonForScript = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');
