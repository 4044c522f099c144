import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', '.test-build/**', 'coverage/**', '.tap/**', 'node_modules/**', 'test/clients/*/node_modules/**', 'test/clients/*/vendor/**']
  }),
  {
    // TypeBox's idiom: a schema and its static type share one name (`export type X = Static<typeof X>`).
    files: ['**/*.ts'],
    rules: { '@typescript-eslint/no-redeclare': 'off' }
  }
]
