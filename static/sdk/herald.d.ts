// Types of Herald's web SDK 1.0.0 (/sdk/v1/herald.mjs, /sdk/v1/herald.js as window.Herald).

export declare const VERSION: string;

export interface InitializeOptions {
  /** The web app's public SDK key (Settings › Apps › the web app › Try the SDK). */
  sdkKey: string;
  /** Herald's base URL, e.g. "https://herald.example.com". */
  baseUrl: string;
  /** Your service worker file, on your own origin (default "/herald-sw.js"). */
  serviceWorkerUrl?: string;
  /** The service worker's scope (default: the file's directory). */
  serviceWorkerScope?: string;
}

export interface User {
  externalId: string;
  brazeId: string;
}

export interface Card {
  id: string;
  type: "CLASSIC" | "CAPTIONED_IMAGE" | "IMAGE_ONLY" | string;
  title: string;
  description: string;
  imageUrl: string | null;
  url: string | null;
  linkText: string | null;
  pinned: boolean;
  extras: Record<string, unknown>;
  campaignId: string | null;
  messageVariationId: string | null;
  created: Date;
  expiresAt: Date | null;
  viewed: boolean;
  clicked: boolean;
}

export declare class HeraldError extends Error {
  /** The HTTP status of Herald's answer; 0 when the call never reached Herald. */
  status: number;
  /** Herald's `errors`, usually naming the field in error. */
  errors: unknown[];
}

export interface HeraldClient {
  /** Name the signed-in user; `token` is an HS256 JWT your backend signs (`sub` = externalId). */
  identify(externalId: string | null, token: string): Promise<User>;
  /** A fresh token for the same user. */
  setToken(token: string): void;
  getUser(): User | null;
  openSession(): Promise<void>;
  logCustomEvent(name: string, properties?: Record<string, unknown>): Promise<void>;
  logPurchase(productId: string, price: number, currency?: string, quantity?: number,
              properties?: Record<string, unknown>): Promise<void>;
  requestContentCardsRefresh(): Promise<Card[]>;
  getCachedContentCards(): Card[];
  /** Called with the new list after each refresh and dismissal; returns an unsubscribe. */
  subscribeToContentCardsUpdates(callback: (cards: Card[]) => void): () => void;
  logCardImpressions(cards: Array<Card | string>): Promise<void>;
  logCardClick(card: Card | string): Promise<void>;
  logCardDismissal(card: Card | string): Promise<void>;
  isPushSupported(): boolean;
  isPushPermissionGranted(): boolean;
  /** Ask for permission, register the service worker and the subscription. */
  requestPushPermission(): Promise<boolean>;
}

export declare function initialize(options: InitializeOptions): HeraldClient;

declare const Herald: {
  initialize: typeof initialize;
  HeraldError: typeof HeraldError;
  VERSION: string;
};
export default Herald;
