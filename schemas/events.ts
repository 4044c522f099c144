import { StringEnum } from './enums.js'

/** The kinds of event the mock keeps, named as Userpilot's export names them. */
export const EVENT_TYPES = ['identify_user', 'identify_company', 'track', 'page_view'] as const
export type EventType = typeof EVENT_TYPES[number]
export const EventTypeSchema = StringEnum(EVENT_TYPES)
