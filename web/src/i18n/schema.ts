import type en from './locales/en'

/** The shape every locale's messages must have: the English file's. */
export type MessageSchema = typeof en
