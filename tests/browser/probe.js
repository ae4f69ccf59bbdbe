// probe.js - a page opened from a file in Debian's headless Chromium, and what it showed.
//   node probe.js PAGE.html SCREENSHOT.png
// Prints one JSON object: the title, the h1 and h2 headings, the text a reader sees, the
// points (rects with data-series) of each chart by its data-chart, the incident bands,
// each chart's drawn width and whether it has a title, the script elements, whether
// anything the page held ran (window.__pwned), console errors and page errors, and every
// request other than the page itself (there must be none: the page needs no network).
// Saves a full-page screenshot. Exits 1 when the browser cannot open the page.
import { chromium } from 'playwright-core';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, shot] = process.argv.slice(2);
if (!file || !shot) {
	console.error('usage: node probe.js PAGE.html SCREENSHOT.png');
	process.exit(2);
}
const url = pathToFileURL(path.resolve(file)).href;

const browser = await chromium.launch({
	executablePath: process.env.PDP_CHROMIUM || '/usr/bin/chromium',
	headless: true,
	timeout: 30000,
	// Chromium's sandbox refuses to run as root.
	args: process.getuid() === 0 ? ['--no-sandbox'] : [],
});
let result;
try {
	const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
	const consoleErrors = [];
	const requests = [];
	const failedRequests = [];
	page.on('console', (m) => {
		if (m.type() === 'error') consoleErrors.push(m.text());
	});
	page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
	page.on('request', (r) => {
		if (r.url() !== url) requests.push(r.url());
	});
	page.on('requestfailed', (r) => failedRequests.push(`${r.url()}: ${r.failure()?.errorText}`));

	await page.goto(url, { waitUntil: 'load', timeout: 30000 });
	const seen = await page.evaluate(() => {
		const charts = {};
		const chartBoxes = {};
		for (const svg of document.querySelectorAll('svg.chart')) {
			const name = svg.dataset.chart;
			charts[name] = svg.querySelectorAll('rect[data-series]').length;
			const title = svg.querySelector(':scope > title');
			chartBoxes[name] = {
				width: Math.round(svg.getBoundingClientRect().width),
				titled:
					!!title &&
					title.textContent.trim() !== '' &&
					svg.getAttribute('aria-labelledby') === title.id,
			};
		}
		return {
			title: document.title,
			h1: [...document.querySelectorAll('h1')].map((h) => h.textContent.trim()),
			h2: [...document.querySelectorAll('h2')].map((h) => h.textContent.trim()),
			text: document.body.innerText,
			charts,
			chartBoxes,
			incidents: document.querySelectorAll('svg.chart rect.incident').length,
			tables: document.querySelectorAll('table').length,
			tablesWithHeaders: document.querySelectorAll('table:has(th)').length,
			scripts: document.scripts.length,
			pwned: typeof window.__pwned === 'undefined' ? null : String(window.__pwned),
		};
	});
	await page.screenshot({ path: shot, fullPage: true });
	result = {
		...seen,
		consoleErrors,
		requests,
		failedRequests,
	};
} finally {
	await browser.close();
}
console.log(JSON.stringify(result));
