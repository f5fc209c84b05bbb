// Drives the Prefect UI library's WorkspaceEventsApi (npm
// @prefecthq/prefect-ui-library, what the UI's event feed calls) against a
// running deployd that holds one flow and 70 deployments' events (issue 16:
// the library maps our answers without error). Run by tests/ui/run.sh:
//   node events_api_check.mjs http://127.0.0.1:PORT/api
// The library is a browser bundle: jsdom and a few inert stand-ins (Worker,
// ResizeObserver, ...) let it load in node; the API classes use axios only.
import { JSDOM } from 'jsdom'
const dom = new JSDOM('<!doctype html><html><body></body></html>', { url: 'http://localhost/' })
for (const k of ['window', 'document', 'navigator', 'HTMLElement', 'Element', 'Node', 'localStorage', 'sessionStorage', 'getComputedStyle', 'MutationObserver', 'CSS'])
  if (globalThis[k] === undefined && dom.window[k] !== undefined) { try { globalThis[k] = dom.window[k] } catch {} }
globalThis.requestAnimationFrame ??= (f) => setTimeout(f, 0)
globalThis.cancelAnimationFrame ??= (h) => clearTimeout(h)
globalThis.ResizeObserver ??= class { observe() {} unobserve() {} disconnect() {} }
globalThis.IntersectionObserver ??= class { observe() {} unobserve() {} disconnect() {} }
globalThis.Worker ??= class { postMessage() {} addEventListener() {} terminate() {} }
globalThis.window.matchMedia ??= () => ({ matches: false, addEventListener() {}, removeEventListener() {} })
const warn = console.warn; console.warn = (...a) => { if (!String(a[0]).includes('Vue warn')) warn(...a) }
const { createApi } = await import('@prefecthq/prefect-ui-library')

const baseUrl = process.argv[2]
const api = createApi({ baseUrl })
const fail = (msg) => { console.error('FAIL ' + msg); process.exit(1) }
const since = new Date(Date.now() - 3600e3), until = new Date(Date.now() + 60e3)
const filter = { occurred: { since, until }, order: 'ASC' }

const page = await api.events.getEvents(filter)
console.log('getEvents', page.total, page.events.length, page.nextPage)
if (page.total < 60 || page.events.length !== 50) fail('expected 50 of >= 60 events')
for (const e of page.events) {
  if (!(e.occurred instanceof Date) || isNaN(e.occurred) || !(e.received instanceof Date)) fail('dates not mapped: ' + e.id)
  if (typeof e.event !== 'string' || !e.resource['prefect.resource.id']) fail('event not mapped: ' + JSON.stringify(e))
  if (!Array.isArray(e.related)) fail('related not mapped')
}
const names = new Set(page.events.map(e => e.event))
for (const n of ['prefect.flow.created', 'prefect.deployment.created']) if (!names.has(n)) fail('missing ' + n)
if (!page.nextPageToken) fail('no next page token in ' + page.nextPage)
const next = await api.events.getNextPage(page.nextPageToken)
console.log('getNextPage', next.events.length, next.total)
if (next.events.length !== page.total - 50) fail('the second page has ' + next.events.length)
const ids = new Set([...page.events, ...next.events].map(e => e.id))
if (ids.size !== page.total) fail('pages overlap')
const deployment = page.events.find(e => e.event === 'prefect.deployment.created')
const one = await api.events.getEvent(deployment.id, deployment.occurred)
if (!one || one.id !== deployment.id) fail('getEvent')
const first = await api.events.getFirstEvent({ ...filter, event: { prefix: ['prefect.deployment.'] } })
if (!first.event.startsWith('prefect.deployment.')) fail('getFirstEvent')
const counts = await api.events.getEventsCount('event', filter)
console.log('getEventsCount', JSON.stringify(counts.slice(0, 3)))
const total = counts.reduce((n, c) => n + c.count, 0)
if (total !== page.total) fail('counts add to ' + total)
if (!counts.every(c => typeof c.label === 'string' && c.startTime instanceof Date)) fail('counts not mapped')
const history = await api.events.getEventsHistory({ filter, unit: 'minute', interval: 1 })
console.log('getEventsHistory', history.length, JSON.stringify(history[0]))
if (history.reduce((n, p) => n + p.value, 0) !== page.total) fail('history adds up wrong')
console.log('OK: WorkspaceEventsApi mapped every answer')
process.exit(0)
