// What the meetings notes editor uses, in one module so a page has exactly one Yjs (two
// copies would not recognise each other's types): Yjs with its sync and awareness
// protocols and lib0's encoders, ProseMirror, and y-prosemirror binding the two.
export * as Y from 'yjs';
export * as syncProtocol from 'y-protocols/sync';
export * as awarenessProtocol from 'y-protocols/awareness';
export * as encoding from 'lib0/encoding';
export * as decoding from 'lib0/decoding';
export * as model from 'prosemirror-model';
export * as state from 'prosemirror-state';
export * as view from 'prosemirror-view';
export * as keymap from 'prosemirror-keymap';
export * as commands from 'prosemirror-commands';
export * as schemaBasic from 'prosemirror-schema-basic';
export * as schemaList from 'prosemirror-schema-list';
export * as tables from 'prosemirror-tables';
export * as inputrules from 'prosemirror-inputrules';
export * as yProsemirror from 'y-prosemirror';
