import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ensureChromium } from './chromium.js';

/** Where the UI checks save their screenshots. */
export const SCREENSHOT_DIR = process.env.MLFLOW_KIT_UI_SHOTS ?? '/tmp/ui-shots';

/** What a page of the UI showed. */
export interface UiView {
  /** The page's visible text. */
  text: string;
  /** Every `href` on the page (the UI's routes are `#/experiments/...`). */
  links: string[];
}

/** Options of {@link MlflowUi.view}. */
export interface ViewOptions {
  /**
   * Texts (or patterns of the visible text) to wait for; the view fails with the text it saw when one is missing
   * after `timeoutMs`.
   */
  waitFor: (string | RegExp)[];
  /** Scrolls the first element showing this text into view before the screenshot. @defaultValue no scrolling */
  scrollTo?: string;
  /** Saves a full-page screenshot as `<SCREENSHOT_DIR>/<screenshot>.png`. @defaultValue no screenshot */
  screenshot?: string;
  /** @defaultValue 30000 */
  timeoutMs?: number;
}

/** The official MLflow UI, as a user sees it in headless Chromium (driven by playwright-core). */
export class MlflowUi {
  readonly #browser: Browser;
  readonly #page: Page;

  private constructor(browser: Browser, page: Page) {
    this.#browser = browser;
    this.#page = page;
  }

  /** Starts headless Chromium (see {@link ensureChromium}). */
  static async launch(): Promise<MlflowUi> {
    const browser = await chromium.launch({
      executablePath: ensureChromium(),
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    return new MlflowUi(browser, await browser.newPage({ viewport: { width: 1400, height: 1000 } }));
  }

  /**
   * Opens `url`, waits until the page shows every text of `waitFor`, and returns what it shows. One tab serves
   * every view: a URL on the same server only changes the UI's `#/` route, as a click would, without reloading
   * the app.
   */
  async view(url: string, options: ViewOptions): Promise<UiView> {
    const page = this.#page;
    const current = page.url();
    if (current !== 'about:blank' && new URL(current).origin === new URL(url).origin) {
      await page.evaluate(`window.location.hash = ${JSON.stringify(new URL(url).hash)}`);
    } else {
      await page.goto(url);
    }
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let text = '';
    for (;;) {
      // What the user sees: rendered text, not hidden nodes.
      // biome-ignore lint/performance/useDomNodeTextContent: the check is about the rendered page
      text = await page.innerText('body');
      const missing = options.waitFor.filter((wanted) =>
        typeof wanted === 'string' ? !text.includes(wanted) : !wanted.test(text),
      );
      if (missing.length === 0) break;
      if (Date.now() > deadline) {
        if (options.screenshot) await this.#shoot(`${options.screenshot}-failed`);
        throw new Error(
          `The MLflow UI at ${url} did not show ${missing.map(String).join(', ')}; it showed:\n${text}`,
        );
      }
      await page.waitForTimeout(250);
    }
    if (options.scrollTo) await page.getByText(options.scrollTo).first().scrollIntoViewIfNeeded();
    if (options.screenshot) await this.#shoot(options.screenshot);
    const links = [...(await page.content()).matchAll(/href="([^"]*)"/g)].map((match) =>
      (match[1] ?? '').replaceAll('&amp;', '&'),
    );
    return { text, links };
  }

  async #shoot(name: string): Promise<void> {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await this.#page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
  }

  /** Closes Chromium. */
  async close(): Promise<void> {
    await this.#browser.close();
  }
}
