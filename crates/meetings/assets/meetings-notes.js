// The meeting's live notes in the browser: a ProseMirror editor bound to a Yjs document
// (y-prosemirror), with the names and cursors of who is typing (Yjs awareness), speaking
// the y-protocols sync and awareness messages over whatever carries them. The meeting
// page passes `send` (it frames each message for the meeting's WebSocket, see the
// `notes` module of the crate) and hands every notes message it receives to `receive`.
//
//   const notes = mountNotes(element, { send, name, color, labels });
//   socket.onmessage = ... notes.receive(bytes) ...;   // after a reconnect: notes.resync()
//   notes.destroy();
//
// The schema's node and mark names are what the server's Markdown and HTML export reads:
// keep them in step with `notes/export.rs`.

import {
  Y, syncProtocol, awarenessProtocol, encoding, decoding, model, state, view, keymap,
  commands, schemaBasic, schemaList, tables, inputrules, yProsemirror,
} from './meetings-notes-editor.js';

const MSG_SYNC = 0;
const MSG_AWARENESS = 1;
const MSG_QUERY_AWARENESS = 3;

/** The first byte of a notes frame on the meeting's WebSocket. */
export const FRAME_TAG = 0x59;

/** The name of the document's root, y-prosemirror's default (the server reads it). */
export const FRAGMENT = 'prosemirror';

/** English labels; the page passes its own, translated, under the same keys. */
export const LABELS = {
  toolbar: 'Formatting',
  editor: 'Meeting notes',
  paragraph: 'Text',
  heading1: 'Heading 1',
  heading2: 'Heading 2',
  heading3: 'Heading 3',
  bold: 'Bold',
  italic: 'Italic',
  code: 'Code',
  highlight: 'Highlight',
  link: 'Link',
  linkPrompt: 'Link address (leave empty to remove the link)',
  bulletList: 'Bullet list',
  orderedList: 'Numbered list',
  checklist: 'Checklist',
  taskDone: 'Done',
  table: 'Table',
  addRow: 'Add row',
  addColumn: 'Add column',
  deleteRow: 'Delete row',
  deleteColumn: 'Delete column',
  deleteTable: 'Delete table',
  undo: 'Undo',
  redo: 'Redo',
};

/** Headings, paragraphs, quotes, code, lists, checklists and tables; bold, italic, code,
 *  highlight and links. */
export function notesSchema() {
  const base = schemaBasic.schema.spec;
  let nodes = schemaList.addListNodes(base.nodes.remove('image'), 'paragraph block*', 'block');
  nodes = nodes.append({
    task_list: {
      group: 'block',
      content: 'task_item+',
      parseDOM: [{ tag: 'ul[data-tasks]', priority: 60 }],
      toDOM: () => ['ul', { 'data-tasks': '', class: 'notes-tasks' }, 0],
    },
    task_item: {
      attrs: { checked: { default: false } },
      content: 'paragraph block*',
      defining: true,
      parseDOM: [{
        tag: 'li[data-task]',
        priority: 60,
        getAttrs: (dom) => ({ checked: dom.getAttribute('data-checked') === 'true' }),
      }],
      toDOM: (node) => ['li', {
        'data-task': '', 'data-checked': String(node.attrs.checked), class: 'notes-task',
      }, ['div', 0]],
    },
  });
  nodes = nodes.append(tables.tableNodes({
    tableGroup: 'block', cellContent: 'block+', cellAttributes: {},
  }));
  const marks = base.marks.append({
    highlight: { parseDOM: [{ tag: 'mark' }], toDOM: () => ['mark', 0] },
  });
  return new model.Schema({ nodes, marks });
}

function markActive(st, type) {
  const { from, $from, to, empty } = st.selection;
  if (empty) return !!type.isInSet(st.storedMarks || $from.marks());
  return st.doc.rangeHasMark(from, to, type);
}

function insertTable(schema) {
  return (st, dispatch) => {
    const { table, table_row: row, table_cell: cell, table_header: header } = schema.nodes;
    const rows = [0, 1, 2].map((r) => row.create(null,
      [0, 1, 2].map(() => (r === 0 ? header : cell).createAndFill())));
    const node = table.create(null, rows);
    if (!dispatch) return true;
    let tr = st.tr.replaceSelectionWith(node);
    // The cursor goes into the first cell, where the writer will type.
    let found = null;
    tr.doc.nodesBetween(tr.mapping.map(st.selection.from, -1), tr.doc.content.size, (n, pos) => {
      if (found === null && n.type === table) found = pos;
      return found === null;
    });
    if (found !== null) tr = tr.setSelection(state.TextSelection.near(tr.doc.resolve(found + 1)));
    dispatch(tr.scrollIntoView());
    return true;
  };
}

function toggleLink(schema, labels) {
  return (st, dispatch) => {
    if (st.selection.empty && !markActive(st, schema.marks.link)) return false;
    if (!dispatch) return true;
    const href = window.prompt(labels.linkPrompt, '');
    if (href === null) return true;
    const { from, to } = st.selection;
    let tr = st.tr.removeMark(from, to, schema.marks.link);
    const clean = href.trim();
    if (clean && !st.selection.empty) tr = tr.addMark(from, to, schema.marks.link.create({ href: clean }));
    dispatch(tr);
    return true;
  };
}

function rules(schema) {
  const n = schema.nodes;
  return inputrules.inputRules({
    rules: [
      ...inputrules.smartQuotes,
      inputrules.textblockTypeInputRule(/^(#{1,3})\s$/, n.heading, (m) => ({ level: m[1].length })),
      inputrules.wrappingInputRule(/^\s*>\s$/, n.blockquote),
      inputrules.wrappingInputRule(/^\s*\[( |x)?\]\s$/, n.task_list),
      inputrules.wrappingInputRule(/^\s*([-+*])\s$/, n.bullet_list),
      inputrules.wrappingInputRule(/^(\d+)\.\s$/, n.ordered_list, (m) => ({ order: +m[1] }),
        (m, node) => node.childCount + node.attrs.order === +m[1]),
      inputrules.textblockTypeInputRule(/^```$/, n.code_block),
    ],
  });
}

/** Ticks or unticks the checklist item around the cursor (the keyboard's checkbox). */
function toggleTask(type) {
  return (st, dispatch) => {
    const { $from } = st.selection;
    for (let d = $from.depth; d > 0; d--) {
      const node = $from.node(d);
      if (node.type !== type) continue;
      if (dispatch) {
        dispatch(st.tr.setNodeMarkup($from.before(d), undefined,
          { ...node.attrs, checked: !node.attrs.checked }));
      }
      return true;
    }
    return false;
  };
}

function keys(schema) {
  const n = schema.nodes;
  const m = schema.marks;
  const chain = commands.chainCommands;
  return keymap.keymap({
    'Mod-z': yProsemirror.undoCommand,
    'Mod-y': yProsemirror.redoCommand,
    'Mod-Shift-z': yProsemirror.redoCommand,
    'Backspace': inputrules.undoInputRule,
    'Mod-b': commands.toggleMark(m.strong),
    'Mod-i': commands.toggleMark(m.em),
    'Mod-`': commands.toggleMark(m.code),
    'Mod-Shift-h': commands.toggleMark(m.highlight),
    'Mod-Enter': toggleTask(n.task_item),
    'Shift-Enter': chain(commands.exitCode, (st, dispatch) => {
      if (dispatch) dispatch(st.tr.replaceSelectionWith(n.hard_break.create()).scrollIntoView());
      return true;
    }),
    'Enter': chain(schemaList.splitListItem(n.list_item),
      schemaList.splitListItem(n.task_item, { checked: false })),
    'Tab': chain(tables.goToNextCell(1), schemaList.sinkListItem(n.list_item),
      schemaList.sinkListItem(n.task_item)),
    'Shift-Tab': chain(tables.goToNextCell(-1), schemaList.liftListItem(n.list_item),
      schemaList.liftListItem(n.task_item)),
    'Mod-[': chain(schemaList.liftListItem(n.list_item), schemaList.liftListItem(n.task_item)),
    'Mod-]': chain(schemaList.sinkListItem(n.list_item), schemaList.sinkListItem(n.task_item)),
  });
}

/** A checklist item: its checkbox toggles `checked` for everyone. */
class TaskItemView {
  constructor(node, editor, getPos, label) {
    this.dom = document.createElement('li');
    this.dom.className = 'notes-task';
    this.box = document.createElement('input');
    this.box.type = 'checkbox';
    this.box.contentEditable = 'false';
    this.box.setAttribute('aria-label', label);
    // A click ticks the box without moving the focus out of the text (Mod-Enter is the
    // keyboard's way to tick it).
    this.box.addEventListener('mousedown', (e) => e.preventDefault());
    this.box.addEventListener('change', () => {
      const pos = getPos();
      if (pos == null) return;
      editor.dispatch(editor.state.tr.setNodeMarkup(pos, undefined,
        { ...this.node.attrs, checked: this.box.checked }));
    });
    this.contentDOM = document.createElement('div');
    this.dom.append(this.box, this.contentDOM);
    this.update(node);
  }

  update(node) {
    if (node.type.name !== 'task_item') return false;
    this.node = node;
    this.box.checked = !!node.attrs.checked;
    this.dom.dataset.checked = String(!!node.attrs.checked);
    return true;
  }

  stopEvent(event) { return event.target === this.box; }

  ignoreMutation(mutation) {
    return mutation.target === this.box || (mutation.type === 'attributes' && mutation.target === this.dom);
  }
}

function toolbar(schema, labels) {
  const n = schema.nodes;
  const m = schema.marks;
  const block = (type, attrs) => commands.setBlockType(type, attrs);
  const isBlock = (type, attrs) => (st) => {
    const parent = st.selection.$from.parent;
    return parent.type === type && Object.entries(attrs || {}).every(([k, v]) => parent.attrs[k] === v);
  };
  return [
    [
      { key: 'paragraph', run: block(n.paragraph), active: isBlock(n.paragraph) },
      { key: 'heading1', run: block(n.heading, { level: 1 }), active: isBlock(n.heading, { level: 1 }) },
      { key: 'heading2', run: block(n.heading, { level: 2 }), active: isBlock(n.heading, { level: 2 }) },
      { key: 'heading3', run: block(n.heading, { level: 3 }), active: isBlock(n.heading, { level: 3 }) },
    ],
    [
      { key: 'bold', run: commands.toggleMark(m.strong), active: (st) => markActive(st, m.strong) },
      { key: 'italic', run: commands.toggleMark(m.em), active: (st) => markActive(st, m.em) },
      { key: 'code', run: commands.toggleMark(m.code), active: (st) => markActive(st, m.code) },
      { key: 'highlight', run: commands.toggleMark(m.highlight), active: (st) => markActive(st, m.highlight) },
      { key: 'link', run: toggleLink(schema, labels), active: (st) => markActive(st, m.link) },
    ],
    [
      { key: 'bulletList', run: schemaList.wrapInList(n.bullet_list) },
      { key: 'orderedList', run: schemaList.wrapInList(n.ordered_list) },
      { key: 'checklist', run: schemaList.wrapInList(n.task_list) },
    ],
    [
      { key: 'table', run: insertTable(schema) },
      { key: 'addRow', run: tables.addRowAfter },
      { key: 'addColumn', run: tables.addColumnAfter },
      { key: 'deleteRow', run: tables.deleteRow },
      { key: 'deleteColumn', run: tables.deleteColumn },
      { key: 'deleteTable', run: tables.deleteTable },
    ],
    [
      { key: 'undo', run: yProsemirror.undoCommand },
      { key: 'redo', run: yProsemirror.redoCommand },
    ],
  ];
}

function buildToolbar(groups, labels, getView) {
  const bar = document.createElement('div');
  bar.className = 'notes-toolbar';
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', labels.toolbar);
  const buttons = [];
  for (const group of groups) {
    const g = document.createElement('div');
    g.className = 'notes-toolbar-group';
    g.setAttribute('role', 'group');
    for (const item of group) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `notes-button notes-button-${item.key}`;
      b.textContent = labels[item.key];
      // Keep the editor's selection: a click must not take focus from the text first.
      b.addEventListener('mousedown', (e) => e.preventDefault());
      b.addEventListener('click', () => {
        const v = getView();
        item.run(v.state, v.dispatch, v);
        v.focus();
      });
      g.append(b);
      buttons.push([b, item]);
    }
    bar.append(g);
  }
  const refresh = (st) => {
    for (const [b, item] of buttons) {
      b.disabled = !item.run(st, null);
      if (item.active) b.setAttribute('aria-pressed', String(!!item.active(st)));
    }
  };
  return { bar, refresh };
}

/**
 * Mounts the notes editor in `element`.
 * @param {HTMLElement} element
 * @param {{send: (bytes: Uint8Array) => void, name: string, color: string,
 *          labels?: Partial<typeof LABELS>}} options
 * @returns {{receive: (bytes: Uint8Array) => void, resync: () => void, destroy: () => void}}
 */
export function mountNotes(element, { send, name, color, labels = {} }) {
  const text = { ...LABELS, ...labels };
  const schema = notesSchema();
  const doc = new Y.Doc();
  const fragment = doc.getXmlFragment(FRAGMENT);
  const awareness = new awarenessProtocol.Awareness(doc);
  // What came from the server is not sent back to it.
  const remote = Symbol('notes-remote');

  const message = (write) => {
    const e = encoding.createEncoder();
    write(e);
    send(encoding.toUint8Array(e));
  };
  const sendAwareness = (clients) => message((e) => {
    encoding.writeVarUint(e, MSG_AWARENESS);
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  });
  const onUpdate = (update, origin) => {
    if (origin === remote) return;
    message((e) => {
      encoding.writeVarUint(e, MSG_SYNC);
      syncProtocol.writeUpdate(e, update);
    });
  };
  const onAwareness = ({ added, updated, removed }, origin) => {
    if (origin === remote) return;
    sendAwareness(added.concat(updated, removed));
  };
  // Announced by the first resync below, not once more on its own.
  awareness.setLocalStateField('user', { name, color });
  doc.on('update', onUpdate);
  awareness.on('update', onAwareness);

  const resync = () => {
    message((e) => {
      encoding.writeVarUint(e, MSG_SYNC);
      syncProtocol.writeSyncStep1(e, doc);
    });
    if (awareness.getLocalState() !== null) sendAwareness([doc.clientID]);
  };

  const receive = (bytes) => {
    const d = decoding.createDecoder(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    switch (decoding.readVarUint(d)) {
      case MSG_SYNC: {
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, MSG_SYNC);
        syncProtocol.readSyncMessage(d, e, doc, remote);
        if (encoding.length(e) > 1) send(encoding.toUint8Array(e));
        break;
      }
      case MSG_AWARENESS:
        awarenessProtocol.applyAwarenessUpdate(awareness, decoding.readVarUint8Array(d), remote);
        break;
      case MSG_QUERY_AWARENESS:
        sendAwareness(Array.from(awareness.getStates().keys()));
        break;
      default:
        break;
    }
  };

  let editor = null;
  const { bar, refresh } = buildToolbar(toolbar(schema, text), text, () => editor);
  const host = document.createElement('div');
  host.className = 'notes-editor';
  element.classList.add('notes');
  element.append(bar, host);

  const toolbarState = new state.Plugin({
    view: () => ({ update: (v) => refresh(v.state) }),
  });
  editor = new view.EditorView(host, {
    state: state.EditorState.create({
      schema,
      plugins: [
        yProsemirror.ySyncPlugin(fragment),
        yProsemirror.yCursorPlugin(awareness),
        yProsemirror.yUndoPlugin(),
        rules(schema),
        keys(schema),
        keymap.keymap(commands.baseKeymap),
        tables.tableEditing(),
        toolbarState,
      ],
    }),
    nodeViews: {
      task_item: (node, v, getPos) => new TaskItemView(node, v, getPos, text.taskDone),
    },
    attributes: {
      class: 'notes-doc',
      role: 'textbox',
      'aria-multiline': 'true',
      'aria-label': text.editor,
    },
  });
  refresh(editor.state);
  resync();

  return {
    receive,
    resync,
    destroy() {
      awarenessProtocol.removeAwarenessStates(awareness, [doc.clientID], 'destroy');
      doc.off('update', onUpdate);
      awareness.off('update', onAwareness);
      editor.destroy();
      awareness.destroy();
      doc.destroy();
      bar.remove();
      host.remove();
      element.classList.remove('notes');
    },
  };
}
