// What a validation rule is: given the walk's events, it registers observers that report
// errors (a message and the position it names) as the walk reaches the nodes.
import type { Position } from '../types.js'
import type { Events } from './walker.js'

export type AddError = (message: string, at: Position | null) => void

export interface Rule {
  readonly name: string
  /** Called once per validation, so any state a rule keeps lives for one document. */
  readonly register: (events: Events, addError: AddError) => void
}
