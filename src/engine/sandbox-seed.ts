// Seed data for the sandbox engine: a small, realistic account so list/read/search return something useful.
import { type Chat, type Message, plainExtras } from '../domain.js';

interface SeedChat {
  id: string;
  name: string;
  /** [minutes before link, sender digits or 'me', body] */
  lines: Array<[number, string, string]>;
}

const SEED: SeedChat[] = [
  {
    id: '15550001001@c.us',
    name: 'Alice Martin',
    lines: [
      [300, '15550001001', 'Hi! Are we still on for lunch tomorrow?'],
      [295, 'me', 'Yes, 12:30 at the usual place'],
      [290, '15550001001', 'Perfect. I will book a table'],
      [60, '15550001001', 'Running 10 minutes late, sorry'],
      [58, 'me', 'No problem, see you soon'],
      [5, '15550001001', 'Can you send me the invoice from last week?'],
    ],
  },
  {
    id: '15550001002@c.us',
    name: 'Bob Chen',
    lines: [
      [1440, '15550001002', 'The deploy finished, all green'],
      [1430, 'me', 'Great, thanks for watching it'],
      [600, '15550001002', 'Database backup is scheduled for 02:00 UTC'],
      [30, '15550001002', 'Did the alert from the cron job reach you?'],
    ],
  },
  {
    id: '15550001003@c.us',
    name: 'Carla Souza',
    lines: [
      [4000, 'me', 'Happy birthday Carla!'],
      [3990, '15550001003', 'Thank you so much!'],
      [120, '15550001003', 'Photos from the trip are in the shared album'],
    ],
  },
  {
    id: '120363000000000001@g.us',
    name: 'Family',
    lines: [
      [2000, '15550001004', 'Dinner on Sunday at 7?'],
      [1990, '15550001003', 'Works for me'],
      [1985, 'me', 'I will bring dessert'],
      [240, '15550001004', 'Reminder: Sunday dinner, do not forget the wine'],
      [15, '15550001003', 'On my way'],
    ],
  },
  {
    id: '120363000000000002@g.us',
    name: 'Project Atlas',
    lines: [
      [3000, '15550001002', 'Kickoff notes are in the doc'],
      [2990, 'me', 'Thanks Bob, I added the budget section'],
      [900, '15550001001', 'Client approved the invoice and the timeline'],
      [45, '15550001002', 'Standup moved to 10:15 tomorrow'],
    ],
  },
];

export const SEED_NAMES: Record<string, string> = {
  '15550001001': 'Alice Martin',
  '15550001002': 'Bob Chen',
  '15550001003': 'Carla Souza',
  '15550001004': 'Dan Okafor',
};

export interface SeededChat {
  chat: Omit<Chat, 'last_message' | 'timestamp'>;
  messages: Message[];
}

export function seedAccount(myWid: string, nowSeconds: number): SeededChat[] {
  return SEED.map((c, ci) => {
    const isGroup = c.id.endsWith('@g.us');
    const messages = c.lines.map(([minsAgo, sender, body], i): Message => {
      const fromMe = sender === 'me';
      const senderId = fromMe ? myWid : `${sender}@c.us`;
      return {
        id: `${fromMe}_${c.id}_SEED${ci}${String(i).padStart(3, '0')}`,
        chat_id: c.id,
        from: fromMe ? myWid : isGroup ? c.id : senderId,
        to: fromMe ? c.id : myWid,
        author: isGroup && !fromMe ? senderId : null,
        from_me: fromMe,
        type: 'chat',
        body,
        timestamp: nowSeconds - minsAgo * 60,
        has_media: false,
        ack: fromMe ? 'read' : null,
        ...plainExtras(),
      };
    });
    return {
      chat: {
        id: c.id,
        name: c.name,
        is_group: isGroup,
        is_read_only: false,
        unread_count: messages.length > 0 && !messages[messages.length - 1]!.from_me ? 1 : 0,
        archived: false,
        pinned: ci === 0,
        muted: false,
      },
      messages,
    };
  });
}
