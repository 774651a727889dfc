// Writes a notes document with the browser's own code: the editor's schema from
// assets/meetings-notes.js and the vendored bundle (Yjs, ProseMirror, y-prosemirror), laid
// out side by side under the names the server serves them by. Prints, as JSON, the
// y-protocols update message a browser would send for it and the Markdown the server's
// export must make of it. Run by the notes tests in src/notes/tests.rs.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const assets = join(dirname(fileURLToPath(import.meta.url)), '../assets');
const dir = mkdtempSync(join(tmpdir(), 'tutti-notes-'));
try {
  copyFileSync(join(assets, 'meetings-notes.js'), join(dir, 'meetings-notes.js'));
  copyFileSync(join(assets, 'vendor/notes-editor.js'), join(dir, 'meetings-notes-editor.js'));
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
  const notes = await import(pathToFileURL(join(dir, 'meetings-notes.js')));
  const { Y, encoding, syncProtocol, yProsemirror } =
    await import(pathToFileURL(join(dir, 'meetings-notes-editor.js')));

  const text = (t, ...marks) => ({ type: 'text', text: t, ...(marks.length ? { marks } : {}) });
  const para = (...content) => ({ type: 'paragraph', content });
  const item = (type, blocks, attrs) => ({ type, content: blocks, ...(attrs ? { attrs } : {}) });
  const doc = {
    type: 'doc',
    content: [
      { type: 'heading', attrs: { level: 2 }, content: [text('Action items ✓ פעולות')] },
      para(
        text('Ship '), text('notes', { type: 'strong' }), text(' by '),
        text('Friday', { type: 'highlight' }), text(', see '),
        text('the plan', { type: 'link', attrs: { href: 'https://example.org/plan' } }),
        text('.'), { type: 'hard_break' }, text('Second line with '), text('code', { type: 'code' }),
      ),
      {
        type: 'task_list',
        content: [
          item('task_item', [para(text('Book the room'))], { checked: true }),
          item('task_item', [para(text('Send the minutes'))], { checked: false }),
        ],
      },
      {
        type: 'bullet_list',
        content: [item('list_item', [
          para(text('one')),
          { type: 'bullet_list', content: [item('list_item', [para(text('nested'))])] },
        ])],
      },
      {
        type: 'ordered_list',
        content: [item('list_item', [para(text('first'))]), item('list_item', [para(text('second'))])],
      },
      {
        type: 'table',
        content: [
          { type: 'table_row', content: [
            { type: 'table_header', content: [para(text('Who'))] },
            { type: 'table_header', content: [para(text('What'))] },
          ] },
          { type: 'table_row', content: [
            { type: 'table_cell', content: [para(text('Ada'))] },
            { type: 'table_cell', content: [para(text('review', { type: 'em' }))] },
          ] },
        ],
      },
      { type: 'blockquote', content: [para(text('A quote'))] },
      { type: 'code_block', content: [text('fn main() {}')] },
      { type: 'horizontal_rule' },
    ],
  };
  // Checked by the schema: a node the editor could not make fails here, not in Rust.
  const schema = notes.notesSchema();
  schema.nodeFromJSON(doc).check();
  const ydoc = yProsemirror.prosemirrorJSONToYDoc(schema, doc, notes.FRAGMENT);

  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(ydoc));

  const markdown = [
    '## Action items ✓ פעולות',
    '',
    'Ship **notes** by <mark>Friday</mark>, see [the plan](https://example.org/plan).\\',
    'Second line with `code`',
    '',
    '- [x] Book the room',
    '- [ ] Send the minutes',
    '',
    '* one',
    '  - nested',
    '',
    '1. first',
    '2. second',
    '',
    '| Who | What |',
    '| --- | --- |',
    '| Ada | *review* |',
    '',
    '> A quote',
    '',
    '```',
    'fn main() {}',
    '```',
    '',
    '---',
    '',
  ].join('\n');
  process.stdout.write(JSON.stringify({ message: Array.from(encoding.toUint8Array(e)), markdown }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
