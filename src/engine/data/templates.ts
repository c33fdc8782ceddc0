/**
 * Prompt templates: how a conversation becomes text, and which parts of that
 * text are trained. A template turns a sample into segments — masked context
 * (system, user, template scaffolding) and trained targets (assistant
 * replies) — plus an `eos` marker for the tokenizer's EOS id, which is always
 * trained so the tuned model learns to stop.
 *
 *   plain   `Instruction: {instruction}` (+ `\nInput: {input}`) `\nResponse:` | ` {response}` EOS
 *           (the format of ../shared/README.md's reference measurements)
 *   alpaca  the Stanford Alpaca prompt (github.com/tatsu-lab/stanford_alpaca, train.py
 *           PROMPT_DICT) with or without input | `{response}` EOS
 *   chatml  `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then
 *           `<|im_start|>assistant\n` | `{response}<|im_end|>` ... EOS after the last reply
 *   model   the tokenizer's own Jinja `chat_template`, rendered with @huggingface/jinja
 *
 * Multi-turn conversations: chatml and model train every assistant turn and
 * mask everything else (assistant turns marked `train: false`, the history
 * inside a TRL prompt, are masked too). plain and alpaca are single-turn formats and reject
 * multi-turn rows (with a reason naming chatml/model) rather than flatten the
 * history into a prompt shape that generation never produces.
 *
 * A system message: plain puts it on its own line before `Instruction:`;
 * alpaca uses it in place of the "Below is an instruction..." preamble;
 * chatml writes a system turn; a model's own template may leave it out
 * (prepareDataset counts and reports those rows) or refuse the row.
 */
import { Template } from '@huggingface/jinja';
import { RowFormatError, type Conversation } from './formats';

export type TemplateId = 'plain' | 'alpaca' | 'chatml' | 'model';
export const TEMPLATE_IDS: TemplateId[] = ['plain', 'alpaca', 'chatml', 'model'];

export type Segment = { kind: 'text'; text: string; train: boolean } | { kind: 'eos' };

export interface GenerationRequest {
  instruction: string;
  input?: string;
  system?: string;
}

export interface PromptTemplate {
  id: TemplateId;
  /** Segments of a conversation that ends with an assistant turn. Throws RowFormatError when it cannot. */
  segments(conv: Conversation): Segment[];
  /** The prompt text a model is given to answer one instruction (the masked part of a one-turn sample). */
  generationPrompt(req: GenerationRequest): string;
  /** Strings that end a reply besides the EOS token (generation may stop on them). */
  stopStrings: string[];
}

/** What a template needs from the tokenizer (TextTokenizer has all of it). */
export interface TemplateTokens {
  bosToken: string | null;
  eosToken: string | null;
  chatTemplate: string | null;
}

/** A one-turn conversation's parts, or an error for multi-turn rows. */
function singleTurn(conv: Conversation, id: TemplateId): { instruction: string; input: string; response: string } {
  if (conv.turns.length !== 2) {
    throw new RowFormatError(`${conv.turns.length / 2}-exchange conversation: the ${id} template is single-turn; use chatml or model for multi-turn data`);
  }
  return { instruction: conv.turns[0].content, input: conv.input ?? '', response: conv.turns[1].content };
}

function plainPrompt(req: GenerationRequest): string {
  const system = req.system ? `${req.system}\n` : '';
  const input = req.input ? `\nInput: ${req.input}` : '';
  return `${system}Instruction: ${req.instruction}${input}\nResponse:`;
}

const ALPACA_PREAMBLE_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.';
const ALPACA_PREAMBLE = 'Below is an instruction that describes a task. Write a response that appropriately completes the request.';

function alpacaPrompt(req: GenerationRequest): string {
  if (req.input) {
    const pre = req.system ?? ALPACA_PREAMBLE_INPUT;
    return `${pre}\n\n### Instruction:\n${req.instruction}\n\n### Input:\n${req.input}\n\n### Response:\n`;
  }
  const pre = req.system ?? ALPACA_PREAMBLE;
  return `${pre}\n\n### Instruction:\n${req.instruction}\n\n### Response:\n`;
}

/** A chat message, and whether it is a reply to train (assistant turns not marked `train: false`). */
interface ChatMessage {
  role: string;
  content: string;
  trained?: boolean;
}

/** The messages for chat templates: Alpaca's input follows the instruction after a blank line. */
function chatMessages(conv: Conversation): ChatMessage[] {
  const msgs: ChatMessage[] = [];
  if (conv.system) msgs.push({ role: 'system', content: conv.system });
  conv.turns.forEach((t, i) => {
    const content = i === 0 && conv.input ? `${t.content}\n\n${conv.input}` : t.content;
    msgs.push(t.role === 'assistant' && t.train !== false ? { role: t.role, content, trained: true } : { role: t.role, content });
  });
  return msgs;
}

/** Just role and content, as a Jinja chat template expects them. */
const plainMessages = (msgs: ChatMessage[]) => msgs.map((m) => ({ role: m.role, content: m.content }));

function requestMessages(req: GenerationRequest): { role: string; content: string }[] {
  return chatMessages({
    kind: 'conversation',
    system: req.system,
    input: req.input,
    turns: [{ role: 'user', content: req.instruction }],
  });
}

const plain: PromptTemplate = {
  id: 'plain',
  stopStrings: [],
  segments(conv) {
    const { instruction, input, response } = singleTurn(conv, 'plain');
    return [
      { kind: 'text', text: plainPrompt({ instruction, input, system: conv.system }), train: false },
      { kind: 'text', text: ` ${response}`, train: true },
      { kind: 'eos' },
    ];
  },
  generationPrompt: plainPrompt,
};

const alpaca: PromptTemplate = {
  id: 'alpaca',
  stopStrings: [],
  segments(conv) {
    const { instruction, input, response } = singleTurn(conv, 'alpaca');
    return [
      { kind: 'text', text: alpacaPrompt({ instruction, input, system: conv.system }), train: false },
      { kind: 'text', text: response, train: true },
      { kind: 'eos' },
    ];
  },
  generationPrompt: alpacaPrompt,
};

const chatmlMessage = (role: string, content: string) => `<|im_start|>${role}\n${content}<|im_end|>\n`;

const chatml: PromptTemplate = {
  id: 'chatml',
  stopStrings: ['<|im_end|>'],
  segments(conv) {
    const segs: Segment[] = [];
    let context = '';
    for (const m of chatMessages(conv)) {
      if (m.trained) {
        segs.push({ kind: 'text', text: `${context}<|im_start|>assistant\n`, train: false });
        // The reply and its <|im_end|> are trained; the "\n" after it is context for the next turn.
        segs.push({ kind: 'text', text: `${m.content}<|im_end|>`, train: true });
        context = '\n';
      } else {
        context += chatmlMessage(m.role, m.content);
      }
    }
    segs.push({ kind: 'eos' }); // once, after the last reply (tokenize skips it when <|im_end|> is the EOS)
    return segs;
  },
  generationPrompt(req) {
    return requestMessages(req).map((m) => chatmlMessage(m.role, m.content)).join('') + '<|im_start|>assistant\n';
  },
};

/**
 * The model's own chat template. The trained span of each assistant turn is
 * found by rendering incrementally: the history up to the turn with
 * add_generation_prompt (= what generation would feed), then the history
 * including the turn; the difference is the reply as the template writes it
 * (with its end-of-turn marker). Templates that rewrite earlier history (so
 * renders are not prefixes of each other) are rejected per row.
 */
function modelTemplate(tok: TemplateTokens): PromptTemplate {
  if (!tok.chatTemplate) throw new Error('the model has no chat_template in tokenizer_config.json; choose plain, alpaca or chatml');
  const tpl = new Template(tok.chatTemplate);
  const render = (messages: { role: string; content: string }[], addGenerationPrompt: boolean): string =>
    tpl.render({
      messages,
      bos_token: tok.bosToken ?? '',
      eos_token: tok.eosToken ?? '',
      add_generation_prompt: addGenerationPrompt,
    });
  // A template's raise_exception (e.g. "System role not supported") refuses that row, not the whole file.
  const renderRow = (messages: { role: string; content: string }[], addGenerationPrompt: boolean): string => {
    try {
      return render(messages, addGenerationPrompt);
    } catch (e) {
      throw new RowFormatError(`the model's chat template refused the row: ${(e as Error).message}`);
    }
  };
  return {
    id: 'model',
    stopStrings: [],
    segments(conv) {
      const msgs = chatMessages(conv);
      const segs: Segment[] = [];
      let done = '';
      let lastReply = '';
      for (let i = 0; i < msgs.length; i++) {
        if (!msgs[i].trained) continue;
        const prompt = renderRow(plainMessages(msgs.slice(0, i)), true);
        const full = renderRow(plainMessages(msgs.slice(0, i + 1)), false);
        if (!prompt.startsWith(done) || !full.startsWith(prompt)) {
          throw new RowFormatError(`the chat template does not render message ${i + 1} as an extension of the earlier messages; cannot locate the reply`);
        }
        segs.push({ kind: 'text', text: prompt.slice(done.length), train: false });
        lastReply = full.slice(prompt.length);
        segs.push({ kind: 'text', text: lastReply, train: true });
        done = full;
      }
      // The EOS is trained after the last reply unless the template already wrote it there.
      if (!tok.eosToken || !lastReply.includes(tok.eosToken)) segs.push({ kind: 'eos' });
      return segs;
    },
    generationPrompt(req) {
      return render(requestMessages(req), true);
    },
  };
}

export function createTemplate(id: TemplateId, tok: TemplateTokens): PromptTemplate {
  switch (id) {
    case 'plain':
      return plain;
    case 'alpaca':
      return alpaca;
    case 'chatml':
      return chatml;
    case 'model':
      return modelTemplate(tok);
    default:
      throw new Error(`unknown template "${id as string}"`);
  }
}
