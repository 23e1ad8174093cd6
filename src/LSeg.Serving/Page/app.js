'use strict';
// The LSeg page: upload a photo once (POST v1/images), then every label edit segments the encoded image
// (POST v1/images/{id}/segment) and redraws the overlay, legend and hover label. Served by the app itself; no CDN.

// Each label's colour comes with the answer ("colours", "#rrggbb"): the server's palette, the one `lseg segment` draws.
function rgbOf(hex) {
  return [1, 3, 5].map(at => parseInt(hex.slice(at, at + 2), 16));
}

// The EXIF orientation (1 to 8) of a JPEG, or 1. The server segments the pixels as stored; browsers decode photos
// upright (EXIF applied), so the page turns them back to the stored pixels to lay the mask over the same ones.
async function exifOrientation(file) {
  const bytes = new DataView(await file.slice(0, 131072).arrayBuffer());
  if (bytes.byteLength < 4 || bytes.getUint16(0) !== 0xFFD8) return 1;
  let offset = 2;
  while (offset + 4 <= bytes.byteLength) {
    const marker = bytes.getUint16(offset), length = bytes.getUint16(offset + 2);
    if (marker === 0xFFE1 && offset + 10 <= bytes.byteLength && bytes.getUint32(offset + 4) === 0x45786966) { // "Exif"
      const tiff = offset + 10;
      if (tiff + 8 > bytes.byteLength) return 1;
      const little = bytes.getUint16(tiff) === 0x4949;
      const ifd = tiff + bytes.getUint32(tiff + 4, little);
      if (ifd + 2 > bytes.byteLength) return 1;
      const entries = bytes.getUint16(ifd, little);
      for (let e = 0; e < entries && ifd + 2 + 12 * e + 12 <= bytes.byteLength; e++) {
        const entry = ifd + 2 + 12 * e;
        if (bytes.getUint16(entry, little) === 0x0112) {
          const value = bytes.getUint16(entry + 8, little);
          return value >= 1 && value <= 8 ? value : 1;
        }
      }
      return 1;
    }
    if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) return 1; // not a marker, or the image data begins
    offset += 2 + length;
  }
  return 1;
}

// The photo's pixels as stored: the upright bitmap the browser decodes, turned back by the inverse of its orientation.
async function storedPixels(file) {
  const upright = await createImageBitmap(file);
  const orientation = await exifOrientation(file).catch(() => 1);
  if (orientation === 1) return upright;
  const swapped = orientation >= 5;
  const width = swapped ? upright.height : upright.width, height = swapped ? upright.width : upright.height;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  // Maps the upright picture's (u, v) to the stored image's (x, y), for each EXIF orientation.
  const transforms = {
    2: [-1, 0, 0, 1, width, 0], 3: [-1, 0, 0, -1, width, height], 4: [1, 0, 0, -1, 0, height],
    5: [0, 1, 1, 0, 0, 0], 6: [0, -1, 1, 0, 0, height], 7: [0, -1, -1, 0, width, height], 8: [0, 1, -1, 0, width, 0],
  };
  context.setTransform(...transforms[orientation]);
  context.drawImage(upright, 0, 0);
  upright.close();
  return createImageBitmap(canvas);
}

const el = id => document.getElementById(id);
const state = {
  file: null,       // the chosen File, kept to encode it again if the server dropped it
  imageId: null,    // id of the encoded image on the server
  photo: null,      // ImageBitmap shown under the overlay
  result: null,     // last segmentation: { width, height, labels, shares, mask }
  mask: null,       // Uint8Array of label indices, row-major
  overlay: null,    // canvas with the coloured mask at the current opacity
  sequence: 0,      // newest segmentation request; older answers are dropped
  choice: 0,        // newest photo chosen; an encoding of an older one is deleted, not kept
  encoding: null,   // { choice, promise } of the encoding under way, shared by everything that needs the image
  refused: 0,       // a photo choice the server refused (too large, unreadable): not uploaded again on label edits
};

function setStatus(text, isError = false) {
  const status = el('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

async function problemText(response) {
  try {
    const problem = await response.json();
    return problem.detail || problem.title || `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function currentLabels() {
  return el('labels').value.split(',').map(label => label.trim()).filter(label => label.length > 0);
}

async function describeModel() {
  const response = await fetch('v1/model');
  if (response.ok) {
    const model = await response.json();
    el('model').textContent = `Model: ${model.name} (${model.backbone}).`;
  }
}

async function choose(file) {
  if (!file) return;
  const choice = ++state.choice;
  state.sequence++; // answers still on their way belong to the previous photo
  state.file = file;
  clearResult();
  // The previous photo's encoded image is nobody's now: deleted at once, and never segmented with the new labels.
  if (state.imageId) fetch(`v1/images/${encodeURIComponent(state.imageId)}`, { method: 'DELETE' });
  state.imageId = null;
  let photo = null;
  try {
    // The server reads the pixels as stored (no EXIF rotation): show the same pixels.
    photo = await storedPixels(file);
  } catch {
    photo = null;
  }
  if (choice !== state.choice) {
    // Another photo was chosen while this one was decoding: it must not be drawn under the other's mask.
    photo?.close();
    return;
  }
  state.photo?.close();
  state.photo = photo;
  draw();
  try {
    await encodeCurrent();
    if (choice !== state.choice) return;
    await segment();
  } catch (error) {
    if (choice === state.choice) setStatus(error.message, true);
  }
}

// One encoding per chosen photo at a time: a label edit or a second expired answer that needs the image again waits
// for the encoding under way instead of uploading the photo once more (and leaving one of the two ids behind).
function encodeCurrent() {
  const choice = state.choice;
  if (state.encoding?.choice !== choice) {
    const promise = encode(state.file, choice).finally(() => {
      if (state.encoding?.promise === promise) state.encoding = null;
    });
    state.encoding = { choice, promise };
  }
  return state.encoding.promise;
}

async function encode(file, choice) {
  const previous = state.imageId;
  state.imageId = null;
  const form = new FormData();
  form.append('image', file, file.name);
  setStatus('Encoding the photo…');
  const response = await fetch('v1/images', { method: 'POST', body: form });
  if (!response.ok) {
    // A refusal of the photo itself (4xx) stands until another photo is chosen; a server error may pass.
    if (response.status >= 400 && response.status < 500) state.refused = choice;
    throw new Error(await problemText(response));
  }
  const id = (await response.json()).id;
  if (previous) fetch(`v1/images/${encodeURIComponent(previous)}`, { method: 'DELETE' });
  if (choice !== state.choice) {
    // Another photo was chosen while this one was encoding: this encoding is nobody's, so it is deleted, not kept.
    fetch(`v1/images/${encodeURIComponent(id)}`, { method: 'DELETE' });
    return;
  }
  state.imageId = id;
}

async function segment() {
  // Every edit supersedes the answers still on their way, even an edit that sends nothing (no label yet, or the image
  // being encoded again): an older answer must not be drawn under the labels now in the box.
  const sequence = ++state.sequence;
  const labels = currentLabels();
  if (labels.length === 0) {
    clearResult(); // the overlay and legend of other labels would read as the answer for the box's (empty) labels
    setStatus('Type at least one label.', true);
    return;
  }
  if (!state.imageId) {
    if (!state.file || state.refused === state.choice) return;
    await encodeCurrent(); // being encoded (again): segment the labels now in the box once it is done
    if (sequence !== state.sequence || !state.imageId) return;
  }
  const started = performance.now();
  setStatus('Segmenting…');
  const post = id => fetch(`v1/images/${encodeURIComponent(id)}/segment`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ labels }),
  });
  const sent = state.imageId;
  let response = await post(sent);
  if (response.status === 404 || response.status === 410) {
    // The server no longer has that id: forgotten here too, so encoding again does not send it a DELETE (a 410 more).
    if (state.imageId === sent) {
      state.imageId = null;
      await encodeCurrent(); // the server dropped the encoded image (expired or evicted): encode it again, once
    } // else a late answer for an old id: the photo was encoded again meanwhile, under the id now held
    if (sequence !== state.sequence || !state.imageId) return;
    response = await post(state.imageId);
  }
  if (sequence !== state.sequence) return; // a newer edit has been sent
  if (!response.ok) {
    // The labels in the box were refused (or the server could not answer): the previous result is not theirs, so it goes
    // rather than stay on screen as if it were.
    const text = await problemText(response);
    if (sequence !== state.sequence) return;
    clearResult();
    setStatus(text, true);
    return;
  }
  const result = await response.json();
  const mask = await decodeMask(result.mask, result.width, result.height);
  if (sequence !== state.sequence) return;
  state.result = result;
  state.mask = mask;
  state.overlay = null;
  draw();
  showLegend();
  offerDownload();
  const canvas = el('canvas');
  canvas.dataset.labels = JSON.stringify(result.labels);
  canvas.dataset.state = 'segmented';
  setStatus(`${result.labels.length} labels, ${result.width}×${result.height}, ${Math.round(performance.now() - started)} ms. Hover to see a pixel's label.`);
}

// Drops the shown segmentation (overlay, legend, download, hover) and keeps the photo.
function clearResult() {
  state.result = null;
  state.mask = null;
  state.overlay = null;
  el('legend').replaceChildren();
  el('download').hidden = true;
  el('hover').hidden = true;
  const canvas = el('canvas');
  delete canvas.dataset.labels;
  canvas.dataset.state = 'cleared';
  draw();
}

// The mask is an 8-bit greyscale PNG whose values are label indices; decoded without colour conversion.
async function decodeMask(base64, width, height) {
  const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }),
    { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) mask[i] = rgba[4 * i];
  return mask;
}

function overlayCanvas() {
  if (state.overlay) return state.overlay;
  const { width, height } = state.result;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  // Opaque here; the opacity slider fades it when it is drawn, without building it again.
  const colours = state.result.colours.map(rgbOf);
  const data = image.data;
  for (let i = 0; i < state.mask.length; i++) {
    const colour = colours[state.mask[i]] ?? [0, 0, 0];
    data[4 * i] = colour[0];
    data[4 * i + 1] = colour[1];
    data[4 * i + 2] = colour[2];
    data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  state.overlay = canvas;
  return canvas;
}

function draw() {
  const canvas = el('canvas');
  const width = state.result?.width ?? state.photo?.width ?? 0;
  const height = state.result?.height ?? state.photo?.height ?? 0;
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  context.clearRect(0, 0, width, height);
  if (state.photo) context.drawImage(state.photo, 0, 0, width, height);
  if (state.result) {
    context.globalAlpha = Number(el('opacity').value) / 100;
    context.drawImage(overlayCanvas(), 0, 0);
    context.globalAlpha = 1;
  }
}

function showLegend() {
  const items = state.result.labels.map((label, i) => {
    const item = document.createElement('li');
    item.dataset.label = label;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = state.result.colours[i];
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = label;
    const share = document.createElement('span');
    share.className = 'share';
    share.textContent = `${(100 * state.result.shares[i]).toFixed(1)}%`;
    item.append(swatch, name, share);
    return item;
  });
  el('legend').replaceChildren(...items);
}

function offerDownload() {
  const link = el('download');
  link.href = `data:image/png;base64,${state.result.mask}`;
  link.download = `${(state.file?.name ?? 'image').replace(/\.[^.]+$/, '')}.mask.png`;
  link.hidden = false;
}

function showHover(event) {
  const hover = el('hover');
  if (!state.result) {
    hover.hidden = true;
    return;
  }
  const canvas = el('canvas');
  const box = canvas.getBoundingClientRect();
  const x = Math.floor((event.clientX - box.left) * state.result.width / box.width);
  const y = Math.floor((event.clientY - box.top) * state.result.height / box.height);
  if (x < 0 || y < 0 || x >= state.result.width || y >= state.result.height) {
    hover.hidden = true;
    return;
  }
  const index = state.mask[y * state.result.width + x];
  hover.textContent = state.result.labels[index];
  hover.dataset.label = state.result.labels[index];
  hover.dataset.x = x;
  hover.dataset.y = y;
  hover.style.left = `${event.clientX - box.left + 14}px`;
  hover.style.top = `${event.clientY - box.top + 14}px`;
  hover.hidden = false;
}

function debounce(action, milliseconds) {
  let timer = 0;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, milliseconds);
  };
}

function start() {
  const drop = el('drop');
  el('file').addEventListener('change', event => choose(event.target.files[0]));
  drop.addEventListener('dragover', event => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', event => {
    event.preventDefault();
    drop.classList.remove('over');
    choose(event.dataTransfer.files[0]);
  });
  const resegment = () => segment().catch(error => setStatus(error.message, true));
  el('labels').addEventListener('input', debounce(resegment, 350));
  el('labels').addEventListener('keydown', event => {
    if (event.key === 'Enter') resegment();
  });
  el('opacity').addEventListener('input', draw);
  el('canvas').addEventListener('mousemove', showHover);
  el('canvas').addEventListener('mouseleave', () => { el('hover').hidden = true; });
  describeModel().catch(() => {});
}

start();
