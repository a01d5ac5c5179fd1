// The definitions every schema implicitly has: OPA's GraphQL library (vektah/gqlparser v2.5.31,
// which current OPA takes from upstream as a Go module) parses its prelude before the user's
// schema and merges the two, prelude first. This is our own SDL for the same content: the built-in
// scalars, directives and introspection types, with their arguments, default values, locations and
// types, in the library's order. Descriptions are left out: no check reads them and they never
// reach a policy.
//
// An error the validator reports at a built-in definition (e.g. after `extend type __Type
// implements X`) names the prelude's file and a line and column in it. So each line below is laid
// at the line it has in the library's file (the descriptions we leave out are blank lines here),
// with the same indentation.

/** The source name the library gives its prelude; errors at prelude positions print it. */
export const PRELUDE_FILE = 'prelude.graphql'

/** `<line> <text>` rows: the text, at that line of the prelude. Lines not listed are blank. */
const ROWS = `
4 scalar Int
7 scalar Float
10 scalar String
13 scalar Boolean
16 scalar ID
19 directive @defer(
21   if: Boolean = true,
23   label: String
24 ) on FRAGMENT_SPREAD | INLINE_FRAGMENT
29 directive @include(
31   if: Boolean!
32 ) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
37 directive @skip(
39   if: Boolean!
40 ) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
43 directive @deprecated(
47   reason: String = "No longer supported"
48 ) on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE
51 directive @specifiedBy(
53   url: String!
54 ) on SCALAR
59 directive @oneOf on INPUT_OBJECT
64 type __Schema {
65   description: String
68   types: [__Type!]!
71   queryType: __Type!
76   mutationType: __Type
81   subscriptionType: __Type
84   directives: [__Directive!]!
85 }
92 type __Type {
93   kind: __TypeKind!
94   name: String
95   description: String
96   specifiedByURL: String
97   fields(includeDeprecated: Boolean = false): [__Field!]
98   interfaces: [__Type!]
99   possibleTypes: [__Type!]
100   enumValues(includeDeprecated: Boolean = false): [__EnumValue!]
101   inputFields(includeDeprecated: Boolean = false): [__InputValue!]
102   ofType: __Type
103   isOneOf: Boolean
104 }
107 enum __TypeKind {
109   SCALAR
114   OBJECT
119   INTERFACE
122   UNION
125   ENUM
130   INPUT_OBJECT
133   LIST
136   NON_NULL
137 }
142 type __Field {
143   name: String!
144   description: String
145   args(includeDeprecated: Boolean = false): [__InputValue!]!
146   type: __Type!
147   isDeprecated: Boolean!
148   deprecationReason: String
149 }
154 type __InputValue {
155   name: String!
156   description: String
157   type: __Type!
162   defaultValue: String
163   isDeprecated: Boolean!
164   deprecationReason: String
165 }
170 type __EnumValue {
171   name: String!
172   description: String
173   isDeprecated: Boolean!
174   deprecationReason: String
175 }
182 type __Directive {
183   name: String!
184   description: String
185   isRepeatable: Boolean!
186   locations: [__DirectiveLocation!]!
187   args(includeDeprecated: Boolean = false): [__InputValue!]!
188 }
193 enum __DirectiveLocation {
195   QUERY
198   MUTATION
201   SUBSCRIPTION
204   FIELD
207   FRAGMENT_DEFINITION
210   FRAGMENT_SPREAD
213   INLINE_FRAGMENT
216   VARIABLE_DEFINITION
219   SCHEMA
222   SCALAR
225   OBJECT
228   FIELD_DEFINITION
231   ARGUMENT_DEFINITION
234   INTERFACE
237   UNION
240   ENUM
243   ENUM_VALUE
246   INPUT_OBJECT
249   INPUT_FIELD_DEFINITION
250 }
`

/** The rows laid out at their lines (a row's text starts after the single space that follows its number). */
function layOut (rows: string): string {
  const lines: string[] = []
  for (const row of rows.split('\n')) {
    if (row === '') continue
    const space = row.indexOf(' ')
    const at = Number(row.slice(0, space))
    while (lines.length < at - 1) lines.push('')
    lines.push(row.slice(space + 1))
  }
  return lines.join('\n') + '\n'
}

export const PRELUDE_SDL = layOut(ROWS)
