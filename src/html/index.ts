/**
 * Context-aware autoescaping HTML templates (the seed's first practice): `html`
 * escapes each value for where it lands (text, attribute, URL, srcset, JSON data),
 * refuses the slots no escaping can make safe when a template is first used, and
 * adds the response's nonce and the CSRF field when a page is rendered with
 * `context.render(page)`.
 *
 * @packageDocumentation
 */

export { csrfField, dangerouslyTrustHtml, flattenHtml, html, joinHtml, json, SafeHtml, ScriptJson } from './html.ts';
export { TemplateError } from './analyze.ts';
export type { TemplateErrorCode } from './analyze.ts';
