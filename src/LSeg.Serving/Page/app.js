'use strict';
// The LSeg page: upload a photo once (POST v1/images), then every label edit segments the encoded image
// (POST v1/images/{id}/segment) and redraws the overlay, legend and hover label. Served by the app itself; no CDN.

// The colours of `lseg segment` overlays (LSeg.Cli/Rendering/LabelPalette.cs): 20 distinct colours, then golden-angle hues.
const DISTINCT = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
  [0, 128, 128], [220, 190, 255], [170, 110, 40], [255, 250, 200], [128, 0, 0],
  [170, 255, 195], [128, 128, 0], [255, 215, 180], [0, 0, 128], [128, 128, 128],
];

function colourOf(index) {
  if (index < DISTINCT.length) return DISTINCT[index];
  const hue = (index * 137.50776) % 360, s = 0.75, v = 0.9;
  const c = v * s, x = c * (1 - Math.abs((hue / 60) % 2 - 1)), m = v - c;
  const [r, g, b] = [[c, x, 0], [x, c, 0], [0, c, x], [0, x, c], [x, 0, c], [c, 0, x]][Math.min(5, Math.floor(hue / 60))];
  return [r, g, b].map(value => Math.round((value + m) * 255));
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
  state.result = null;
  state.mask = null;
  state.overlay = null;
  el('legend').replaceChildren();
  el('download').hidden = true;
  let photo = null;
  try {
    // The server reads the pixels as stored (no EXIF rotation): show the same pixels.
    photo = await createImageBitmap(file, { imageOrientation: 'none' });
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
  if (!response.ok) throw new Error(await problemText(response));
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
    setStatus('Type at least one label.', true);
    return;
  }
  if (!state.imageId) {
    if (!state.file) return;
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
  let response = await post(state.imageId);
  if (response.status === 404 || response.status === 410) {
    await encodeCurrent(); // the server dropped the encoded image (expired or evicted): encode it again, once
    if (sequence !== state.sequence || !state.imageId) return;
    response = await post(state.imageId);
  }
  if (sequence !== state.sequence) return; // a newer edit has been sent
  if (!response.ok) {
    setStatus(await problemText(response), true);
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
  const alpha = Math.round(2.55 * Number(el('opacity').value));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  const colours = state.result.labels.map((_, i) => colourOf(i));
  for (let i = 0; i < state.mask.length; i++) {
    const [r, g, b] = colours[state.mask[i]];
    image.data.set([r, g, b, alpha], 4 * i);
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
  if (state.result) context.drawImage(overlayCanvas(), 0, 0);
}

function showLegend() {
  const items = state.result.labels.map((label, i) => {
    const item = document.createElement('li');
    item.dataset.label = label;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = `rgb(${colourOf(i).join(',')})`;
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
  el('opacity').addEventListener('input', () => {
    state.overlay = null;
    draw();
  });
  el('canvas').addEventListener('mousemove', showHover);
  el('canvas').addEventListener('mouseleave', () => { el('hover').hidden = true; });
  describeModel().catch(() => {});
}

start();
