import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelWithVectors, vectorDir, writePart, type VectorSet } from '../lib/2-embed/store.js';
import { findModel, MODELS, type ModelSpec } from '../lib/2-embed/models.js';
import { embeddingNote } from '../lib/5-rank/train.js';
import { envSkip } from './helpers.js';
import { loadPhotoVectors } from '../lib/7-curate/source.js';
import { Db } from '../lib/db/duckdb.js';
import { FluxError } from '../lib/util/check.js';

test('a stage reads the vectors the workspace has: the model found here when it has them, else the one that has', () => {
  const ws = mkdtempSync(join(tmpdir(), 'flux-vmodel-'));
  const part = (model: string, set: VectorSet): void => {
    mkdirSync(vectorDir(ws, model, set), { recursive: true });
    writeFileSync(join(vectorDir(ws, model, set), 'part-00000.parquet'), '');
  };
  try {
    assert.equal(modelWithVectors(ws, 'mobilenetv2-int8'), null, 'no vectors at all');
    // embedded with CLIP while MobileNetV2 is the model present on this machine
    part('clip-vit-b32', 'photos');
    assert.equal(modelWithVectors(ws, 'mobilenetv2-int8'), 'clip-vit-b32');
    assert.equal(modelWithVectors(ws, null), 'clip-vit-b32');
    // matching needs the keepers' vectors too
    assert.equal(modelWithVectors(ws, 'mobilenetv2-int8', ['photos', 'keepers']), null);
    part('clip-vit-b32', 'keepers');
    assert.equal(modelWithVectors(ws, 'mobilenetv2-int8', ['photos', 'keepers']), 'clip-vit-b32');
    // the model present here wins when it has vectors too
    part('mobilenetv2-int8', 'photos');
    assert.equal(modelWithVectors(ws, 'mobilenetv2-int8'), 'mobilenetv2-int8');
    assert.equal(modelWithVectors(ws, 'siglip-b16-512'), 'mobilenetv2-int8', 'else the registry order');
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test('the curator leaves out a stored vector that holds a value that is not a number, and counts it', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'flux-nanvec-'));
  const db = await Db.open(join(ws, 'flux.duckdb'));
  try {
    await db.run('CREATE TABLE photos (photo_id BIGINT, keeper BOOLEAN)');
    await db.run('INSERT INTO photos VALUES (1, true), (2, true), (3, true)');
    const spec = { ...(MODELS[0] as ModelSpec), dim: 4 };
    const v = (a: number[]): Float32Array => Float32Array.from(a);
    await writePart(db, ws, spec, 'photos', [
      { id: 1, view: 0, vector: v([1, 0, 0, 0]) },
      { id: 2, view: 0, vector: v([0, NaN, 1, 0]) },
      { id: 3, view: 0, vector: v([0, 0, 1, 0]) },
    ]);
    const input = await loadPhotoVectors(db, { model: spec.id });
    assert.deepEqual([input.ids, input.withoutVector], [[1, 3], 1]);
  } finally {
    db.close();
    rmSync(ws, { recursive: true, force: true });
  }
});

test('a photos table the curator cannot read blames the database, not a --where that was not given', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'flux-badphotos-'));
  const file = join(ws, 'flux.duckdb');
  const db = await Db.open(file);
  try {
    // another program's photos table: no photo_id column
    await db.run('CREATE TABLE photos (id BIGINT, keeper BOOLEAN)');
    const spec = { ...(MODELS[0] as ModelSpec), dim: 4 };
    await writePart(db, ws, spec, 'photos', [{ id: 1, view: 0, vector: Float32Array.from([1, 0, 0, 0]) }]);
    const unreadable = new RegExp(
      `^${file}: the photos cannot be read \\(Binder Error: .*\\); is it a database flux ingest built\\?$`,
    );
    for (const scope of [{ model: spec.id }, { model: spec.id, keepersOnly: true }]) {
      await assert.rejects(
        loadPhotoVectors(db, scope),
        (e: Error) => e instanceof FluxError && unreadable.test(e.message),
      );
    }
    // a condition that was given is still the one named
    await assert.rejects(loadPhotoVectors(db, { model: spec.id, where: 'keeper' }), (e: Error) =>
      /^--where: the condition "keeper" is not valid SQL on photos: Binder Error: /.test(e.message),
    );
    // with no model vectors the pixel descriptors are read: no such table either
    rmSync(join(ws, 'embeddings'), { recursive: true, force: true });
    await assert.rejects(loadPhotoVectors(db), (e: Error) =>
      new RegExp(`^${file}: the photos cannot be read \\(Catalog Error: .*descriptors`).test(e.message),
    );
  } finally {
    db.close();
    rmSync(ws, { recursive: true, force: true });
  }
});

test(
  'training on vectors of a model whose file is not here says that scoring an inbox will need it',
  { skip: envSkip(findModel('siglip-b16-512').path ? 'the SigLIP model file is on this machine' : false) },
  () => {
    assert.equal(
      embeddingNote('siglip-b16-512'),
      'the vectors are of siglip-b16-512, whose model file is not on this machine: flux score --inbox embeds new ' +
        'photos with it, so fetch it first (flux models fetch siglip-b16-512)',
    );
    assert.equal(embeddingNote(null), null);
  },
);
