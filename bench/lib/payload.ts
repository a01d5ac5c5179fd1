// Response bodies the benchmark upstream serves.

/** A small JSON document, the usual API answer (~70 bytes). */
export const SMALL_BODY = Buffer.from(JSON.stringify({ id: '42', status: 'shipped', total: 12.5, items: 2, tenant: 'acme' }))

/**
 * A page of customers of about `targetBytes` of JSON, carrying every field the default
 * policy's pii_mask touches (ssn, card, email, birth_date under /customers/*).
 */
export function customersBody (targetBytes = 100 * 1024): Buffer {
  const customers: unknown[] = []
  const doc = { page: 1, total: 0, customers }
  let size = 40
  for (let i = 0; size < targetBytes; i++) {
    const c = {
      id: 100000 + i,
      name: `Customer ${i}`,
      email: `customer${i}@example.com`,
      ssn: `${100 + (i % 800)}-${10 + (i % 89)}-${1000 + i}`,
      card: String(4111111111111111 + i * 7919),
      birth_date: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
      address: { street: `${i} Main St`, city: 'Springfield', zip: String(10000 + i) },
      orders: [{ id: i * 2, total: 12.5 + i }, { id: i * 2 + 1, total: 3.25 }],
    }
    customers.push(c)
    size += JSON.stringify(c).length + 1
    doc.total = customers.length
  }
  return Buffer.from(JSON.stringify(doc))
}
