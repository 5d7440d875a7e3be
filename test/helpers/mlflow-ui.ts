import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Where the UI checks save their screenshots. */
export const SCREENSHOT_DIR = process.env.MLFLOW_KIT_UI_SHOTS ?? '/tmp/ui-shots';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function findChromium(): string | undefined {
  const chosen = process.env.MLFLOW_KIT_CHROMIUM;
  if (chosen && !existsSync(chosen))
    throw new Error(
      `MLFLOW_KIT_CHROMIUM names ${chosen}, which does not exist: point it at a Chromium binary or unset it.`,
    );
  if (chosen) return chosen;
  return CANDIDATES.find((path) => existsSync(path));
}

const SETUP_SCRIPT = fileURLToPath(new URL('../../scripts/setup-chromium.sh', import.meta.url));

/**
 * The Chromium the UI checks drive: `MLFLOW_KIT_CHROMIUM`, else the system's. When there is none,
 * `scripts/setup-chromium.sh` installs Debian's `chromium` (as root, on a fresh CI machine); if that cannot, the
 * error says what to install. A missing Chromium fails the checks, never skips them.
 */
export function chromiumPath(): string {
  const found = findChromium();
  if (found) return found;
  const setup = spawnSync('bash', [SETUP_SCRIPT], { stdio: ['ignore', 2, 'pipe'], encoding: 'utf8' });
  const installed = findChromium();
  if (installed) return installed;
  throw new Error(
    `The MLflow UI checks need Chromium and found none at ${CANDIDATES.join(', ')}; ` +
      `scripts/setup-chromium.sh could not install it (${(setup.stderr ?? '').trim().slice(-500) || `exit ${setup.status}`}). ` +
      'Install it (Debian/Ubuntu: apt-get install -y chromium) or set MLFLOW_KIT_CHROMIUM to a Chromium or Chrome binary.',
  );
}

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

  /** Starts headless Chromium (see {@link chromiumPath}). */
  static async launch(): Promise<MlflowUi> {
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
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
