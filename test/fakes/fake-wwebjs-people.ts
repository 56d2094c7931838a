// The people side of the fake WhatsApp: who is on WhatsApp, the numbers behind linked ids (@lid), saved
// contacts, and Contact/lid answers shaped like whatsapp-web.js's (getContactModel, enforceLidAndPnRetrieval in
// src/util/Injected/Utils.js, Contact in src/structures/Contact.js).

export interface LibraryWid {
  server: string;
  user: string;
  _serialized: string;
}

export function wid(id: string): LibraryWid {
  const [user = '', server = ''] = id.split('@');
  return { server, user, _serialized: id };
}

/** What the phone knows of someone: the fields getContactModel fills. */
export interface FakePerson {
  name?: string;
  pushname?: string;
  isMyContact?: boolean;
  isBusiness?: boolean;
  verifiedName?: string;
}

/** A Contact as getContactById resolves it (field names of src/structures/Contact.js). */
export interface LibraryContact {
  id: LibraryWid;
  number: string;
  isBusiness: boolean;
  isEnterprise: boolean;
  name: string | undefined;
  pushname: string | undefined;
  shortName: string | undefined;
  verifiedName: string | undefined;
  isMe: boolean;
  isUser: boolean;
  isGroup: boolean;
  isWAContact: boolean;
  isMyContact: boolean;
  isBlocked: boolean;
  businessProfile?: { id: LibraryWid; tag: string };
}

export class FakePeople {
  /** Linked ids WhatsApp knows, with the number behind each (null: the number is hidden from us). */
  readonly lids = new Map<string, string | null>();
  /** By phone chat id or linked id (when the number is hidden). */
  readonly people = new Map<string, FakePerson>();
  /**
   * Linked ids whose number WhatsApp Web has not loaded yet: toPn and getContactById leave them as they are, and
   * getContactLidAndPhone asks the server (queryWidExists), after which the page knows it.
   */
  readonly unsynced = new Set<string>();
  /** Numbers whose privacy settings refuse being added to groups (403: invitation only). */
  readonly privacy = new Set<string>();
  /** When true, every number not ending in 0000 is on WhatsApp (the sandbox's rule), besides `registered`. */
  openRegistration = false;
  /** Hold getContactLidAndPhone answers until release() (to prove nothing waits for them). */
  private gate: Promise<void> | null = null;
  private release: (() => void) | null = null;

  constructor(
    private readonly registered: Set<string>,
    private readonly self: string,
  ) {}

  isRegistered(digits: string): boolean {
    return this.registered.has(digits) || (this.openRegistration && /^\d{8,15}$/.test(digits) && !digits.endsWith('0000'));
  }

  /** A linked id and, unless hidden, the number behind it (registered too). */
  addLid(lid: string, phone: string | null): void {
    this.lids.set(lid, phone);
    if (phone) this.registered.add(phone);
  }

  phoneOf(lid: string): string | null {
    return this.lids.get(lid) ?? null;
  }

  lidOf(phone: string): string | null {
    for (const [lid, p] of this.lids) if (p === phone) return lid;
    return null;
  }

  /** WhatsApp Web's toPn: a linked id becomes its number's id when the page knows the number. */
  toPn(id: string): string {
    const phone = id.endsWith('@lid') && !this.unsynced.has(id) ? this.phoneOf(id) : null;
    return phone ? `${phone}@c.us` : id;
  }

  /** Does WhatsApp know this id (queryWidExists)? */
  exists(id: string): boolean {
    if (id.endsWith('@lid')) return this.lids.has(id);
    return this.isRegistered(id.split('@')[0] ?? '');
  }

  holdLookups(): () => void {
    this.gate = new Promise<void>((resolve) => (this.release = resolve));
    return () => {
      this.release?.();
      this.gate = null;
    };
  }

  /** getContactLidAndPhone: {lid, pn} per id, both undefined when WhatsApp knows nobody by it. */
  async lidAndPhone(ids: string[]): Promise<Array<{ lid: string | undefined; pn: string | undefined }>> {
    if (this.gate) await this.gate;
    return ids.map((id) => {
      if (id.endsWith('@lid')) {
        if (!this.lids.has(id)) return { lid: undefined, pn: undefined };
        this.unsynced.delete(id);
        const phone = this.phoneOf(id);
        return { lid: id, pn: phone ? `${phone}@c.us` : undefined };
      }
      const digits = id.split('@')[0] ?? '';
      const lid = this.lidOf(digits);
      if (!lid && !this.isRegistered(digits)) return { lid: undefined, pn: undefined };
      return { lid: lid ?? undefined, pn: `${digits}@c.us` };
    });
  }

  /** getContactById: WhatsApp Web makes up an empty Contact for anyone; a linked id with a known number comes back under the number. */
  contact(id: string): LibraryContact {
    const shown = this.toPn(id);
    const p = this.people.get(shown) ?? this.people.get(id) ?? {};
    const [user = ''] = shown.split('@');
    const business = p.isBusiness === true;
    return {
      id: wid(shown),
      number: user,
      isBusiness: business,
      isEnterprise: false,
      name: p.name,
      pushname: p.pushname,
      shortName: p.name?.split(' ')[0],
      verifiedName: business ? p.verifiedName : undefined,
      isMe: shown === this.self,
      isUser: true,
      isGroup: false,
      isWAContact: this.exists(shown),
      isMyContact: p.isMyContact === true,
      isBlocked: false,
      ...(business ? { businessProfile: { id: wid(shown), tag: 'biz' } } : {}),
    };
  }

  /** getContacts: everyone the phone knows, ourselves included (as WhatsApp Web lists). */
  contacts(): LibraryContact[] {
    return [this.self, ...this.people.keys()].map((id) => this.contact(id));
  }
}
